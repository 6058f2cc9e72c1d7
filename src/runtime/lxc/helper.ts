import fs from 'node:fs';
import { cgroupPids } from '../../sys/cgroup/tree.js';
import { processAlive, readProcessCmdline } from '../../sys/procfs.js';

/**
 * The helper of a container's run (lxc-start, or `script` around it with -t) records its own
 * pid in STATE/<id>/helper before it becomes lxc-start: written by the process itself, the
 * record exists whenever the process does, however early the daemon is killed. The file
 * stays until the run's host resources are released, so at restore it names a run that may
 * still hold processes.
 */
export const HELPER_FILE = 'helper';

/** `argv` run by a shell that first writes its pid (kept through exec) to `pidFile`. */
export function withPidFile(argv: string[], pidFile: string): string[] {
  return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', pidFile, ...argv];
}

/** The helper `pidFile` names, if it is alive and is `id`'s: its command line names the container. */
export function liveHelper(pidFile: string, id: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1 || !processAlive(pid)) return undefined;
  return readProcessCmdline(pid)?.some((a) => a.includes(id)) ? pid : undefined;
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid` and every process below it, collected before any is killed (a killed parent orphans its children). */
function tree(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (all.includes(p)) continue;
    all.push(p);
    queue.push(...children(p));
  }
  return all;
}

/**
 * SIGKILLs a helper, every process below it and every process in `cgroups`, again until
 * none is left (a process forked meanwhile is caught by the next round). Returns false if
 * some survived `timeoutMs` (stuck in D state, or frozen by someone else).
 */
export async function killHelper(pid: number | undefined, cgroups: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const helper = pid !== undefined && processAlive(pid) ? tree(pid) : [];
    const victims = [...helper, ...cgroups.flatMap((cg) => cgroupPids(cg))].filter((p) => processAlive(p));
    if (victims.length === 0) return true;
    if (Date.now() > deadline) return false;
    for (const p of victims) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
