import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { removeContainer } from './remove.js';

/** After a run has ended: the restart policy, or else --rm. */
export async function applyExitPolicy(ctx: EngineContext, c: Container): Promise<void> {
  if (c.removed || ctx.restarts.onExit(c, c.state.ExitCode) || !c.record.host.AutoRemove) return;
  await removeContainer(ctx, c, true).catch((e: Error) => ctx.log.error(`auto-remove of ${c.id} failed: ${e.message}`));
}
