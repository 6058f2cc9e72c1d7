import { PassThrough } from 'node:stream';
import { processAlive } from '../sys/procfs.js';
import { settlesWithin } from '../sys/wait.js';
import { isFrozen } from '../sys/cgroup/freezer.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { repairEtcFiles } from './create.js';
import { handleExit } from './exit.js';
import { removeContainer } from './remove.js';
import { cgroupPathOf, runtimeOf, runtimeSpecOf } from './spec.js';
import { attachOutput } from './start.js';
import { startedOf } from './started.js';

/** Exit code iSulad records when a container is found dead with no exit code to read. */
const UNKNOWN_EXIT = 255;
/** How long a restore waits for the exit record of a container whose init is gone (the helper's teardown). */
const EXIT_RECORD_WAIT_MS = 3000;

/** The runtime's reclaim; a failure is logged and the restore goes on. */
async function reclaim(ctx: EngineContext, c: Container): Promise<boolean> {
  try {
    return await runtimeOf(ctx.runtimes, c).reclaim(runtimeSpecOf(c, ctx.defaults));
  } catch (e) {
    ctx.log.error(`reclaiming what ${c.id} left: ${(e as Error).message}`);
    return false;
  }
}

/**
 * Reconciles a container loaded from disk with what really runs: running ones keep
 * running and get their output back, ones that exited while the daemon was away are
 * recorded with their real exit code, and processes of a run the record does not show (a
 * start the daemon was killed in) are killed.
 */
export async function restoreContainer(ctx: EngineContext, c: Container): Promise<void> {
  const s = c.state;
  // iSulad skips containers the garbage collector owns; it finishes them.
  if (ctx.gc.has(c.id)) return;
  await repairEtcFiles(c).catch((e: Error) => ctx.log.error(`container ${c.id}: writing its etc files again: ${e.message}`));
  if (!s.Running) {
    if (await reclaim(ctx, c)) ctx.log.warn(`container ${c.id} had processes of a run its record does not show; killed them`);
    if (c.record.host.AutoRemove) await removeContainer(ctx, c, true);
    else ctx.restarts.onRestore(c);
    return;
  }
  const shimAlive = s.ShimPid > 0 && processAlive(s.ShimPid, s.ShimStartTime);
  if (shimAlive) {
    const stdin = c.record.config.Config.OpenStdin ? new PassThrough() : undefined;
    const io = runtimeOf(ctx.runtimes, c).reattach(c.id, startedOf(c), stdin);
    // Attach reaches the container's stdin again, as before the restart.
    if (io.stdin) c.stdin = stdin;
    attachOutput(ctx, c, io);
  }
  const recorded = runtimeOf(ctx.runtimes, c).recordedExit(c.id);
  if (recorded !== undefined) return handleExit(ctx, c, recorded);
  if (processAlive(s.Pid, s.PidStartTime)) {
    const paused = isFrozen(cgroupPathOf(c, ctx.defaults));
    if (paused !== s.Paused) {
      s.Paused = paused;
      await c.save();
    }
    ctx.log.info(`container ${c.id} still running (pid ${s.Pid})`);
    if (!s.Paused) ctx.health.start(c);
    return;
  }
  // Init gone; a live helper records the exit any moment now (the supervisor takes it), a
  // dead one never will. Wait for the record before serving anyone: a client right after the
  // restart must not see a running container whose process is gone.
  if (shimAlive) {
    if (!(await settlesWithin(c.waitExit(), EXIT_RECORD_WAIT_MS)))
      ctx.log.warn(`container ${c.id}: its init is gone but no exit was recorded within ${EXIT_RECORD_WAIT_MS} ms`);
    return;
  }
  ctx.log.warn(`container ${c.id} died while the daemon was down and left no exit code; recording ${UNKNOWN_EXIT}`);
  await handleExit(ctx, c, UNKNOWN_EXIT);
}
