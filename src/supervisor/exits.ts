import fs from 'node:fs';
import path from 'node:path';
import { readExitRecord } from '../sys/exit-record.js';
import type { Logger } from '../sys/log.js';

/**
 * The supervisor: the runtime records each container's exit code as a file named by the
 * container id in one directory. One inotify watch on it tells the daemon of every exit,
 * with no process per container and no polling; a scan at start finds the exits that
 * happened while the daemon was down.
 */
export class ExitWatcher {
  private watcher: fs.FSWatcher | undefined;

  constructor(
    private readonly dir: string,
    private readonly onExit: (id: string, code: number) => void,
    private readonly log: Logger,
  ) {}

  private read(id: string): void {
    if (!/^[0-9a-f]{64}$/.test(id)) return;
    const text = readExitRecord(path.join(this.dir, id));
    if (text === undefined) return; // not complete yet, or removed again by a new start
    const code = Number(text);
    if (text === '' || !Number.isInteger(code)) {
      this.log.warn(`ignoring unreadable exit record of ${id}: ${JSON.stringify(text)}`);
      return;
    }
    this.onExit(id, code);
  }

  start(): void {
    this.watcher = fs.watch(this.dir, (_event, filename) => {
      if (filename) this.read(filename.toString());
    });
    this.watcher.on('error', (e) => this.log.error(`exit watcher: ${e.message}`));
  }

  close(): void {
    this.watcher?.close();
  }
}
