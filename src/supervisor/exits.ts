import fs from 'node:fs';
import type { Logger } from '../sys/log.js';

/**
 * The supervisor: the runtime records each container's exit as a file named by the
 * container id in one directory. One inotify watch on it tells the daemon of every exit,
 * with no process per container and no polling; a scan at start finds the exits that
 * happened while the daemon was down. The runtime reads its own records (`read`).
 */
export class ExitWatcher {
  private watcher: fs.FSWatcher | undefined;

  constructor(
    private readonly dir: string,
    private readonly read: (id: string) => number | undefined,
    private readonly onExit: (id: string, code: number) => void,
    private readonly log: Logger,
  ) {}

  private seen(id: string): void {
    if (!/^[0-9a-f]{64}$/.test(id)) return;
    const code = this.read(id);
    // undefined: not complete yet, removed again by a new start, or unreadable
    if (code !== undefined) this.onExit(id, code);
  }

  start(): void {
    this.watcher = fs.watch(this.dir, (_event, filename) => {
      if (filename) this.seen(filename.toString());
    });
    this.watcher.on('error', (e) => this.log.error(`exit watcher: ${e.message}`));
  }

  close(): void {
    this.watcher?.close();
  }
}
