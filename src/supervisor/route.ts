import type { EngineContext } from '../container/context.js';
import { handleExit } from '../container/exit.js';
import type { Logger } from '../sys/log.js';
import { ExitWatcher } from './exits.js';

/**
 * Hands every runtime's exits to the containers they end: the exit records each runtime
 * writes, and sooner, for a container without a terminal (whose output then passes through
 * the helper, which must finish first), the runtime's word of its init's exit. Starts
 * watching at once, so exits recorded while the daemon was down are seen at restore.
 */
export function superviseExits(ctx: EngineContext, log: Logger): { close(): void } {
  const running = (id: string) => {
    const c = ctx.store.find(id);
    return c && c.id === id && c.state.Running ? c : undefined;
  };
  const watchers = ctx.runtimes.all().map((runtime) => {
    const watcher = new ExitWatcher(
      runtime.exitsDir,
      // Read only for a run not yet ended: most exits are known from the runtime first, and
      // every write of a record is an event.
      (id) => (running(id)?.exiting === false ? runtime.recordedExit(id) : undefined),
      (id, code) => {
        const c = running(id);
        if (c) void handleExit(ctx, c, code);
      },
      log,
    );
    runtime.onInitExit((id, code) => {
      const c = running(id);
      if (c && !c.record.config.Config.Tty) void handleExit(ctx, c, code, true);
    });
    return watcher;
  });
  for (const w of watchers) w.start();
  return {
    close: () => {
      for (const w of watchers) w.close();
    },
  };
}
