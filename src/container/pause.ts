import { failedPrecondition } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { refuseInGc, requireOperation } from './state.js';

/** `isula pause` / `isula unpause`: the cgroup freezer. */
export function setPaused(ctx: EngineContext, c: Container, paused: boolean): Promise<void> {
  return c.lock.run(async () => {
    refuseInGc(ctx.gc.has(c.id), c.id, 'pause');
    if (!ctx.kernel.freezer) throw failedPrecondition(`Your kernel does not support the cgroup freezer; ${paused ? 'pause' : 'unpause'} is refused`);
    requireOperation(paused ? 'pause' : 'unpause', c.status, c.id);
    const spec = runtimeSpecOf(c, ctx.defaults);
    const runtime = runtimeOf(ctx.runtimes, c);
    if (paused) await runtime.pause(spec);
    else await runtime.resume(spec);
    c.state.Paused = paused;
    try {
      await c.save();
    } catch (e) {
      // Unrecorded (disk full), the change is undone: the container stays as its record shows.
      c.state.Paused = !paused;
      await (paused ? runtime.resume(spec) : runtime.pause(spec)).catch((err: Error) =>
        ctx.log.error(`undoing the ${paused ? 'pause' : 'unpause'} of ${c.id}: ${err.message}`),
      );
      throw e;
    }
    if (paused) ctx.health.stop(c);
    else ctx.health.start(c);
    ctx.events.emit('container', paused ? 'pause' : 'unpause', c.id, { name: c.name, image: c.record.config.Image });
  });
}
