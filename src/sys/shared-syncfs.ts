import { syncFilesystem } from './mount.js';

/**
 * syncfs(2) of one filesystem (or, given `fsyncDirAsync` as `flush`, an fsync of one directory:
 * the new entries of creates at about the same time), shared by callers that ask at about the
 * same time. A caller's
 * promise settles once a syncfs that began after its call has finished, so everything it wrote
 * before calling is on disk, as with a syncfs of its own. Asked while one is running, a caller
 * waits for the next one, which carries every caller that asked meanwhile: the layers of a
 * pull finishing together pay for one or two flushes of the filesystem, not one each.
 */
export class SharedSyncfs {
  /** The syncfs running now. */
  private running: Promise<void> | undefined;
  /** The next one, not begun: a call now is carried by it. */
  private next: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly flush: (dir: string) => Promise<void> = syncFilesystem,
  ) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    const start = (): Promise<void> => {
      this.next = undefined;
      const p = this.flush(this.dir);
      this.running = p;
      void p.then(
        () => this.settle(p),
        () => this.settle(p),
      );
      return p;
    };
    if (!this.running) return start();
    const p = this.running.then(start, start);
    this.next = p;
    return p;
  }

  private settle(p: Promise<void>): void {
    if (this.running === p) this.running = undefined;
  }
}
