import type { Writable } from 'node:stream';

/**
 * A client's end of a streaming call, as the container domain sees it: the service hands in
 * its gRPC call, which fits this shape, so src/container/ knows nothing of gRPC.
 */
export interface StreamSink<Out, In> {
  /** Sends a message; a client that lets too much pile up unread has its call ended. */
  write(message: Out): void;
  /** Resolves once what was written has gone out. */
  drained(): Promise<void>;
  /** Further messages from the client; a listener that returns a promise holds the next until it settles. */
  onMessage(listener: (message: In) => void | Promise<void>): void;
  /** The client went away or cancelled. */
  onCancel(listener: () => void): void;
}

/**
 * Writes a client's input to a container's stdin; when that is full (the container does not
 * read it), a promise for the room, so the call reads no more input until then.
 */
export function writeInput(stdin: Writable, data: Uint8Array): Promise<void> | undefined {
  if (stdin.destroyed || stdin.writableEnded || stdin.write(Buffer.from(data))) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      stdin.off('drain', done).off('close', done);
      resolve();
    };
    stdin.on('drain', done).on('close', done);
  });
}
