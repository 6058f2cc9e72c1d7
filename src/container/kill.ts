import { invalidArgs } from '../api/errors.js';
import { signalNumber } from '../sys/signals.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { startedOf } from './started.js';
import { refuseInGc, requireOperation } from './state.js';

/** `isula kill [-s SIG]`: SIGKILL by default; a paused container is thawed so the signal lands. */
export function killContainer(ctx: EngineContext, c: Container, signal: string): Promise<void> {
  return c.lock.run(async () => {
    const n = signalNumber(signal || 'SIGKILL');
    if (n === undefined) throw invalidArgs(`Invalid signal: ${signal}`);
    refuseInGc(ctx.gc.has(c.id), c.id, 'kill');
    requireOperation('kill', c.status, c.id);
    if (n === 9) await ctx.restarts.cancel(c);
    if (!c.state.Running) return;
    if (n === 9) {
      c.state.ForceKilled = true;
      c.state.ManuallyStopped = true;
      await c.save();
    }
    runtimeOf(ctx.runtimes, c).kill(startedOf(c), n);
    // A frozen process gets its signal only once thawed (Docker thaws it too).
    if (c.state.Paused) {
      await runtimeOf(ctx.runtimes, c).resume(runtimeSpecOf(c, ctx.defaults));
      c.state.Paused = false;
      await c.save();
    }
    ctx.events.emit('container', 'kill', c.id, { name: c.name, image: c.record.config.Image, signal: String(n) });
  });
}
