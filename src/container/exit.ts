import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { removeContainer } from './remove.js';
import { processAlive } from '../sys/procfs.js';
import { settlesWithin, startedOf } from './started.js';

const DRAIN_TIMEOUT_MS = 5000;

/**
 * Records the end of a container's run: lets the shim go so the output streams end,
 * waits until all output is read, saves the exit, and then applies --rm. Never takes the
 * container's lock: a stop holding it is waiting for exactly this.
 */
export async function handleExit(ctx: EngineContext, c: Container, code: number): Promise<void> {
  if (!c.state.Running || c.exiting) return;
  c.exiting = true;
  ctx.health.stop(c);
  try {
    ctx.runtime.release(startedOf(c));
    await c.pump?.drained(DRAIN_TIMEOUT_MS);
    await ctx.runtime.stopped(c.id).catch((e: Error) => ctx.log.warn(`cleaning up after ${c.id}: ${e.message}`));
    c.pump = undefined;
    c.stdin = undefined;
    const s = c.state;
    // A kill the engine forced reads as 137 whatever the runtime saw.
    const exitCode = s.ForceKilled && code !== 137 && code !== 0 ? 137 : code;
    s.Running = false;
    s.Paused = false;
    s.Pid = 0;
    s.ExitCode = exitCode;
    s.FinishedAt = new Date().toISOString();
    c.save();
    ctx.events.emit('container', 'die', c.id, { name: c.name, image: c.record.config.Image, exitCode: String(exitCode) });
    c.notifyExit(exitCode);
    const restarting = ctx.restarts.onExit(ctx, c, exitCode);
    if (c.record.host.AutoRemove && !c.removed && !restarting) {
      await removeContainer(ctx, c, true).catch((e: Error) => ctx.log.error(`auto-remove of ${c.id} failed: ${e.message}`));
    }
    c.notifyFinished(exitCode);
  } finally {
    c.exiting = false;
  }
}

/**
 * Waits up to `ms` for the current run to end after a kill. Normally the shim records the
 * exit; if the shim itself is gone (killed from outside), nobody will, so once the init is
 * seen dead the engine records the kill's 137 itself.
 */
export async function awaitExit(ctx: EngineContext, c: Container, ms: number): Promise<boolean> {
  const exited = c.waitExit();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await settlesWithin(exited, Math.min(200, Math.max(0, deadline - Date.now())))) return true;
    const s = c.state;
    const shimGone = s.ShimPid <= 0 || !processAlive(s.ShimPid, s.ShimStartTime);
    if (shimGone && !processAlive(s.Pid, s.PidStartTime)) {
      await handleExit(ctx, c, ctx.runtime.recordedExit(c.id) ?? 137);
      return true;
    }
  }
  return settlesWithin(exited, 0);
}
