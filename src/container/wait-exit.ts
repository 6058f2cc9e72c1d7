import { processAlive } from '../sys/procfs.js';
import { settlesWithin } from '../sys/wait.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { handleExit } from './exit.js';
import { runtimeOf } from './spec.js';

/**
 * Waits up to `ms` for the current run to end after a kill. Normally the runtime records the
 * exit; if its helper is gone (killed from outside) it may not, so once the init is
 * seen dead the engine records the kill's 137 itself. An exit already being recorded is
 * waited for to the end, whatever `ms`.
 */
export async function awaitExit(ctx: EngineContext, c: Container, ms: number): Promise<boolean> {
  const exited = c.waitExit();
  const deadline = Date.now() + ms;
  for (;;) {
    if (await settlesWithin(exited, Math.min(200, Math.max(0, deadline - Date.now())))) return true;
    // The exit is known and being recorded: its die comes before anything the caller tells.
    if (c.exiting) {
      await exited;
      return true;
    }
    if (Date.now() >= deadline) return false;
    const s = c.state;
    const shimGone = s.ShimPid <= 0 || !processAlive(s.ShimPid, s.ShimStartTime);
    if (shimGone && !processAlive(s.Pid, s.PidStartTime)) {
      await handleExit(ctx, c, runtimeOf(ctx.runtimes, c).recordedExit(c.id) ?? 137);
      return true;
    }
  }
}
