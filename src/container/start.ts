import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { OutputChunk, TerminalSize } from '../api/containers.js';
import { generalError, notFound } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { handleExit } from './exit.js';
import { startingHealth } from './health.js';
import { removeContainer } from './remove.js';
import { OutputPump } from './io.js';
import { CriLogWriter } from './logs/cri-file.js';
import { JsonFileWriter } from './logs/json-file.js';
import { logLimits } from './logs/limits.js';
import type { ContainerIo, Runtime, RuntimeSpec } from '../runtime/runtime.js';
import { warmCgroupMigration } from '../sys/cgroup/warm.js';
import { InRootError, writeFileInRoot } from '../sys/in-root.js';
import type { ContainerState } from './record.js';
import { runtimeOf, runtimeSpecOf, sharedNamespaces } from './spec.js';
import { ensureRootfs } from './rootfs.js';
import { refuseInGc, requireOperation } from './state.js';

/**
 * System containers get hostname, hosts and resolv.conf written into the rootfs, as iSulad
 * does. Each is resolved inside the rootfs (a symlinked etc or resolv.conf stays in it) and
 * written only as a regular file; a file whose directory is missing is skipped, and one that
 * cannot be written safely (a symlink loop, a FIFO or device there) refuses the start.
 */
function writeSystemContainerEtc(c: Container, rootfs: string): void {
  if (c.record.host.ReadonlyRootfs) return;
  const hostname = `${c.record.config.Config.Hostname}\n`;
  for (const name of ['hostname', 'hosts', 'resolv.conf']) {
    try {
      writeFileInRoot(rootfs, `/etc/${name}`, name === 'hostname' ? hostname : fs.readFileSync(path.join(c.dir, name)));
    } catch (e) {
      if (!(e instanceof InRootError)) return; // a read-only filesystem: iSulad skips this too
      if (e.code !== 'ENOENT') throw generalError(`cannot write /etc/${name} into the rootfs of ${c.id}: ${e.message}`);
    }
  }
}

/** Starts reading a running container's output and arranges for its exit to be handled. */
export function attachOutput(ctx: EngineContext, c: Container, io: ContainerIo): void {
  const { maxBytes, maxFiles } = logLimits(c, ctx.defaults);
  const disabled = c.record.host.LogConfig.Config['disable-log'] === 'true';
  const Writer = c.record.host.LogConfig.Type === 'cri' ? CriLogWriter : JsonFileWriter;
  const log = disabled ? undefined : new Writer(c.record.config.LogPath, maxBytes, maxFiles);
  c.pump = new OutputPump(io, log, c.record.config.Config.Tty);
}

/** What a client attached from the start (`run` without -d, `start -a`) brings. */
export interface StartAttach {
  stdin?: PassThrough;
  ttySize?: TerminalSize;
  /** Gets the output from the first byte: a container may be gone before the start returns. */
  onOutput?: (chunk: OutputChunk) => void;
}

/**
 * `isula start` (and the start half of run and restart); the caller holds the lock. Returns
 * the unsubscribe of `attach.onOutput`.
 */
export async function startLocked(ctx: EngineContext, c: Container, attach: StartAttach = {}): Promise<(() => void) | undefined> {
  const { stdin, ttySize } = attach;
  if (c.removed) throw notFound(`No such container: ${c.id}`);
  refuseInGc(ctx.gc.has(c.id), c.id, 'start');
  const subscribe = (): (() => void) | undefined => (attach.onOutput ? c.pump?.subscribe(attach.onOutput) : undefined);
  if (requireOperation('start', c.status, c.id)) return subscribe();
  await c.releasing;
  await ensureRootfs(ctx, c);
  const spec = runtimeSpecOf(c, ctx.defaults);
  const namespaces = sharedNamespaces(ctx.store, c);
  if (namespaces) spec.namespaces = namespaces;
  if (c.record.host.SystemContainer && spec.rootfs.kind === 'dir') writeSystemContainerEtc(c, spec.rootfs.path);
  const stdinSource = stdin ?? (c.record.config.Config.OpenStdin ? new PassThrough() : undefined);
  let result: Awaited<ReturnType<Runtime['start']>>;
  try {
    result = await runtimeOf(ctx.runtimes, c).start(spec, stdinSource, ttySize);
  } catch (e) {
    const error = c.state.Error;
    c.state.Error = (e as Error).message;
    ctx.log.info(`container ${c.id} name=${c.name} failed to start: ${c.state.Error}`);
    // Unwritten, the message is not kept: memory never runs ahead of the record.
    await c.save().catch(() => (c.state.Error = error));
    throw e;
  }
  const before = structuredClone(c.state);
  const s = c.state;
  s.Running = true;
  s.Paused = false;
  s.Restarting = false;
  s.Pid = result.started.pid;
  s.PidStartTime = result.started.pidStartTime;
  s.ShimPid = result.started.shimPid;
  s.ShimStartTime = result.started.shimStartTime;
  s.ExitCode = 0;
  s.Error = '';
  s.StartedAt = new Date().toISOString();
  s.ManuallyStopped = false;
  s.ForceKilled = false;
  if (c.record.config.Config.Healthcheck && c.record.config.Config.Healthcheck.Test[0] !== 'NONE') s.Health = startingHealth();
  // Output is read from now on: an exit seen while the record is being written loses none.
  c.stdin = stdinSource;
  c.runSpec = spec;
  attachOutput(ctx, c, result.io);
  const unsubscribe = subscribe();
  ctx.health.start(c);
  // Before the record is written: an exit seen meanwhile must come after it in the events.
  ctx.events.emit('container', 'start', c.id, { name: c.name, image: c.record.config.Image, pid: String(s.Pid) });
  try {
    await c.save();
  } catch (e) {
    unsubscribe?.();
    await undoStart(ctx, c, spec, before);
    throw e;
  }
  // An exit recorded before we started listening (a very short-lived container) is picked up here.
  const early = runtimeOf(ctx.runtimes, c).recordedExit(c.id);
  if (early !== undefined) void handleExit(ctx, c, early);
  return unsubscribe;
}

/**
 * The container runs but its record cannot say so (disk full): a daemon restarted now would
 * not know the run. The run is killed and the container is back in the state its record
 * holds, as if the start had failed.
 */
async function undoStart(ctx: EngineContext, c: Container, spec: RuntimeSpec, before: ContainerState): Promise<void> {
  ctx.health.stop(c);
  // Not running from here on: an exit the runtime reports now is not handled as this run's.
  c.record.config.State = before;
  c.pump?.detach();
  c.pump = undefined;
  c.stdin = undefined;
  c.runSpec = undefined;
  await runtimeOf(ctx.runtimes, c)
    .reclaim(spec)
    .catch((e: Error) => ctx.log.error(`killing the unrecorded run of ${c.id}: ${e.message}`));
  ctx.events.emit('container', 'die', c.id, { name: c.name, image: c.record.config.Image, exitCode: '137' });
}

/** Starts a container; one run with --rm whose start fails is removed, as iSulad does. */
export async function startContainer(ctx: EngineContext, c: Container, attach: StartAttach = {}): Promise<(() => void) | undefined> {
  // From the request on, so that the runtime's cgroup writes find the kernel's migration lock
  // warm (sys/cgroup/warm.ts): its first grace period runs beside the mount and the config.
  const cooled = warmCgroupMigration();
  try {
    return await c.lock.run(async () => {
      // A start by the user begins a new count for on-failure:N.
      await ctx.restarts.cancel(c);
      c.record.config.RestartCount = 0;
      return startLocked(ctx, c, attach);
    });
  } catch (e) {
    if (c.record.host.AutoRemove && !c.state.Running) await removeContainer(ctx, c, true).catch(() => undefined);
    throw e;
  } finally {
    cooled();
  }
}
