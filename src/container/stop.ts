import { deadlineExceeded } from '../api/errors.js';
import { signalNumber } from '../sys/signals.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { awaitExit } from './wait-exit.js';
import { startedOf } from './started.js';
import { refuseInGc } from './state.js';

const KILL_WAIT_MS = 10_000;

/**
 * Stop signal, wait `timeoutSec`, then SIGKILL (iSulad's stop). A paused container is
 * thawed so the signal lands, as Docker does. The caller holds the lock.
 */
export async function stopLocked(ctx: EngineContext, c: Container, timeoutSec: number): Promise<void> {
  refuseInGc(ctx.gc.has(c.id), c.id, 'stop');
  await ctx.restarts.cancel(c);
  if (!c.state.Running) return;
  const manually = c.state.ManuallyStopped;
  c.state.ManuallyStopped = true;
  // Unrecorded, the stop does not begin: memory never runs ahead of the record.
  await c.save().catch((e: Error) => {
    c.state.ManuallyStopped = manually;
    throw e;
  });
  const started = startedOf(c);
  const spec = c.runSpec ?? runtimeSpecOf(c, ctx.defaults);
  const runtime = runtimeOf(ctx.runtimes, c);
  runtime.kill(started, signalNumber(c.record.config.Config.StopSignal) ?? 15);
  if (c.state.Paused) {
    await runtime.resume(spec);
    c.state.Paused = false;
    await c.save();
  }
  if (!(await awaitExit(ctx, c, Math.max(0, timeoutSec) * 1000))) {
    c.state.ForceKilled = true;
    runtime.kill(started, 'SIGKILL');
    await runtime.killAll(spec);
    if (!(await awaitExit(ctx, c, KILL_WAIT_MS))) throw deadlineExceeded(`Failed to stop container ${c.id}: it did not die after SIGKILL`);
  }
  ctx.events.emit('container', 'stop', c.id, { name: c.name, image: c.record.config.Image });
}

export function stopContainer(ctx: EngineContext, c: Container, timeoutSec: number): Promise<void> {
  return c.lock.run(() => stopLocked(ctx, c, timeoutSec));
}
