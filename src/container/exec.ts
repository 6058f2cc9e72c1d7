import crypto from 'node:crypto';
import type { ExecRequest } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import type { ExecProcess } from '../runtime/runtime.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { mergeEnv } from './env.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { refuseInGc, requireOperation } from './state.js';
import { resolveUser } from './user.js';

/** `isula exec`: runs a process in the running container; events exec_create/exec_start/exec_die. */
export function execInContainer(ctx: EngineContext, c: Container, req: ExecRequest): ExecProcess {
  refuseInGc(ctx.gc.has(c.id), c.id, 'exec');
  requireOperation('exec', c.status, c.id);
  if (req.cmd.length === 0) throw invalidArgs('No exec command specified');
  const spec = runtimeSpecOf(c, ctx.defaults);
  const user = req.user ? resolveUser(req.user, spec.rootfs.kind === 'dir' ? spec.rootfs.path : '/') : undefined;
  const execId = crypto.randomBytes(32).toString('hex');
  const attrs = { name: c.name, execID: execId, command: req.cmd.join(' ') };
  ctx.events.emit('container', 'exec_create', c.id, attrs);
  const proc = runtimeOf(ctx.runtimes, c).exec(spec, {
    execId,
    args: req.cmd,
    env: mergeEnv(c.record.config.Config.Env, req.env),
    user: user ? { uid: user.uid, gid: user.gid } : spec.user,
    workdir: req.workdir,
    tty: req.tty,
    ...(req.resize ? { ttySize: req.resize } : {}),
    stdin: req.stdin,
  });
  ctx.events.emit('container', 'exec_start', c.id, attrs);
  void proc.exited.then((code) => ctx.events.emit('container', 'exec_die', c.id, { ...attrs, exitCode: String(code) }));
  return proc;
}
