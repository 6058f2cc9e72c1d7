import { failedPrecondition } from '../api/errors.js';
import { ZERO_TIME, type ContainerState } from './record.js';

/** iSulad's status strings (src/daemon/modules/container/container_state.c). */
export type Status = 'inited' | 'starting' | 'running' | 'paused' | 'restarting' | 'exited';

export function statusOf(s: ContainerState): Status {
  if (s.Running && s.Paused) return 'paused';
  if (s.Running && s.Restarting) return 'restarting';
  if (s.Running) return 'running';
  if (s.Restarting) return 'restarting';
  if (s.StartedAt === ZERO_TIME && s.FinishedAt === ZERO_TIME) return 'inited';
  return 'exited';
}

export type Operation = 'start' | 'stop' | 'kill' | 'restart' | 'pause' | 'unpause' | 'exec' | 'attach' | 'rm' | 'rename' | 'update';

/**
 * Which operation each status accepts (isulad-behaviour notes, section 7.2). Returns
 * 'ok', 'noop' (succeed without doing anything) or an error message.
 */
export function checkOperation(op: Operation, status: Status, id: string, force = false): 'ok' | 'noop' | string {
  const short = id.slice(0, 12);
  switch (op) {
    case 'start':
      if (status === 'running' || status === 'restarting') return 'noop';
      if (status === 'paused') return `Cannot start container ${short}: cannot start a paused container, try unpause instead`;
      return 'ok';
    case 'stop':
    case 'restart':
      return 'ok';
    case 'kill':
      if (status === 'running' || status === 'paused' || status === 'restarting') return 'ok';
      return `Cannot kill container ${short}: container is not running`;
    case 'pause':
      if (status === 'paused') return `Container ${short} is already paused`;
      if (status === 'restarting') return `Container ${short} is restarting, wait until the container is running`;
      if (status !== 'running') return `Container ${short} is not running`;
      return 'ok';
    case 'unpause':
      if (status !== 'paused') return `Container ${short} is not paused`;
      return 'ok';
    case 'exec':
    case 'attach':
      if (status === 'paused') return `Container ${short} is paused, unpause the container before ${op}`;
      if (status === 'restarting') return `Container ${short} is restarting, wait until the container is running`;
      if (status !== 'running') return `Container ${short} is not running`;
      return 'ok';
    case 'rm':
      if ((status === 'running' || status === 'paused' || status === 'restarting') && !force) {
        return `You cannot remove a ${status} container ${short}. Stop the container before attempting removal or use -f`;
      }
      return 'ok';
    case 'rename':
    case 'update':
      return 'ok';
  }
}

/** Throws the refusal of `op` in `status`; returns true when the operation is a no-op. */
export function requireOperation(op: Operation, status: Status, id: string, force = false): boolean {
  const verdict = checkOperation(op, status, id, force);
  if (verdict === 'noop') return true;
  if (verdict !== 'ok') throw failedPrecondition(verdict);
  return false;
}

/** iSulad refuses most verbs while a container's leftovers are being collected. */
export function refuseInGc(inGc: boolean, id: string, op: Operation): void {
  if (inGc) throw failedPrecondition(`Cannot ${op} container ${id.slice(0, 12)}: it is in garbage collector progress`);
}
