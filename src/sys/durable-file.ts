import { atomicWriteFile } from './atomic-write.js';

/**
 * A record file that is rewritten whole at every change, atomically and durably, on libuv's
 * thread pool: done synchronously, its fsyncs held up every other request (11 ms per
 * container lifecycle under load). A save asked for while another is being written is
 * folded into one more write, rendered when that write begins, so it carries the newest
 * content; each save's promise settles once content at least that new is on disk.
 */
export class DurableFile {
  /** The latest write, begun or waiting for the one before it. */
  private last: Promise<void> | undefined;
  /** A write not begun yet: a save now is carried by it. */
  private queued: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    readonly render: () => string,
    readonly mode = 0o640,
  ) {}

  save(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.queued) return this.queued;
    const write = (this.last ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.closed ? undefined : atomicWriteFile(this.file, this.render(), this.mode);
      });
    this.queued = write;
    this.last = write;
    void write
      .catch(() => undefined)
      .then(() => {
        if (this.last === write) this.last = undefined;
      });
    return write;
  }

  /** Waits for every write asked for so far (failed ones included). */
  async settled(): Promise<void> {
    while (this.last) await this.last.catch(() => undefined);
  }

  /** No more writes (the file is about to be deleted); waits for the one under way. */
  close(): Promise<void> {
    this.closed = true;
    return this.settled();
  }
}
