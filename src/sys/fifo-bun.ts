import fs from 'node:fs';
import { Readable } from 'node:stream';

/** The part of Bun's global this file uses (there are no Bun types in this project). */
declare const Bun: { file(fd: number): { stream(): ReadableStream<Uint8Array> } };

/**
 * A FIFO's read end under Bun, whose node:net never reads from a Socket made on a FIFO's fd:
 * Bun.file(fd).stream() reads it through Bun's own poller. The stream leaves the fd open; it
 * is closed here once the stream is done with.
 */
export function bunFifoReader(fd: number): Readable {
  const reader = Bun.file(fd).stream().getReader();
  return new Readable({
    read() {
      reader.read().then(
        ({ done, value }) => this.push(done ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength)),
        (e: Error) => this.destroy(e),
      );
    },
    destroy(error, callback) {
      reader.cancel().then(
        () => fs.close(fd, () => callback(error)),
        () => fs.close(fd, () => callback(error)),
      );
    },
  });
}
