import fs from 'node:fs';

/**
 * The client's output. Text goes straight to fds 1 and 2: process.stdout loads node:stream
 * and node:net (5 ms of every call when stdout is a pipe), and on Linux its writes to pipes,
 * files and terminals are synchronous anyway, so the order and blocking are the same. The
 * stream itself is made only for what needs one: a terminal's size and resizes (-t).
 */
const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: 1 | 2, data: string | Uint8Array): void {
  let buf = typeof data === 'string' ? Buffer.from(data) : data;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A terminal Node has opened for -t is non-blocking: wait for room.
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      // A reader that went away (`isula logs -f | head`) ends us quietly, as SIGPIPE would.
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    }
  }
}

export function writeOut(data: string | Uint8Array): void {
  writeAll(1, data);
}

export function writeErr(data: string | Uint8Array): void {
  writeAll(2, data);
}
