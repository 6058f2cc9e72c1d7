/**
 * A flush (a syncfs of a filesystem, an fsync of a directory, an append and fdatasync of a
 * log) shared by callers that ask at about the same time. A caller's promise settles once a
 * flush that began after its call has finished, so everything it wrote (or queued) before
 * calling is on disk, as with a flush of its own. Asked while one is running, a caller waits
 * for the next one, which carries every caller that asked meanwhile: the layers of a pull
 * finishing together pay for one or two syncfs, not one each; creates at once, for one or two
 * fsyncs of their store's directory.
 */
export class SharedFlush {
  /** The flush running now. */
  private running: Promise<void> | undefined;
  /** The next one, not begun: a call now is carried by it. */
  private next: Promise<void> | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.next) return this.next;
    const start = (): Promise<void> => {
      this.next = undefined;
      const p = this.flush();
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
