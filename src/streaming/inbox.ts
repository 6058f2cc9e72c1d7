import { Readable } from 'node:stream';

/**
 * The readable side of a channel fed by a connection's read loop: `deliver` resolves once the
 * consumer wants more, so a reader that does not keep up stops the loop, and with it the
 * socket (TCP backpressure), instead of growing a buffer.
 */
export class Inbox extends Readable {
  private wake?: () => void;

  constructor(highWaterMark: number) {
    super({ highWaterMark });
  }

  override _read(): void {
    this.release();
  }

  deliver(data: Buffer): Promise<void> {
    if (this.destroyed || this.readableEnded) return Promise.resolve();
    if (this.push(data)) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  finish(): void {
    if (!this.destroyed && !this.readableEnded) this.push(null);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.release();
    callback(err);
  }

  private release(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
