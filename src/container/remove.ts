import fs from 'node:fs';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { runtimeSpecOf } from './spec.js';
import { awaitExit } from './exit.js';
import { startedOf } from './started.js';
import { requireOperation } from './state.js';

/** `isula rm [-f]`: a running container needs -f, and is killed first. */
export function removeContainer(ctx: EngineContext, c: Container, force: boolean): Promise<void> {
  return c.lock.run(async () => {
    if (c.removed) return;
    requireOperation('rm', c.status, c.id, force);
    ctx.restarts.cancel(c);
    const spec = runtimeSpecOf(c, ctx.defaults);
    if (c.state.Running) {
      c.state.ForceKilled = true;
      c.state.ManuallyStopped = true;
      ctx.runtime.kill(startedOf(c), 'SIGKILL');
      await ctx.runtime.killAll(spec);
      if (!(await awaitExit(ctx, c, 10_000))) throw new Error(`container ${c.id} did not die after SIGKILL`);
    }
    await ctx.runtime.cleanup(spec);
    c.removed = true;
    ctx.store.delete(c);
    fs.rmSync(c.dir, { recursive: true, force: true });
    ctx.events.emit('container', 'destroy', c.id, { name: c.name, image: c.record.config.Image });
  });
}
