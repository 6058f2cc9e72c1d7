import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { startLocked } from './start.js';
import { stopLocked } from './stop.js';

/** `isula restart [-t N]`: stop (if running), then start; --rm waits until the restart is over. */
export function restartContainer(ctx: EngineContext, c: Container, timeoutSec: number): Promise<void> {
  return c.lock.run(async () => {
    const autoRemove = c.record.host.AutoRemove;
    c.record.host.AutoRemove = false;
    try {
      await stopLocked(ctx, c, timeoutSec);
      await c.waitFinished();
    } finally {
      c.record.host.AutoRemove = autoRemove;
    }
    await startLocked(ctx, c);
    ctx.events.emit('container', 'restart', c.id, { name: c.name, image: c.record.config.Image });
  });
}
