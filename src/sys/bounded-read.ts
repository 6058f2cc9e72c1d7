import fs from 'node:fs';
import fsp from 'node:fs/promises';

/*
 * Reading a file a user names (a hook spec, an env file): it may be a FIFO (an open that
 * blocks until a writer comes), a device (/dev/zero never ends; opening /dev/watchdog arms
 * it) or just huge. So: stat first and refuse anything but a regular file before opening it;
 * open with O_NONBLOCK (a FIFO swapped in meanwhile cannot block the open); fstat the open
 * file to be sure it is still the regular one; read at most `limit` bytes.
 */

const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
const CHUNK = 64 * 1024;

/** Why a file was refused; its message reads well after "<flag> <file>: ". */
export class BoundedReadError extends Error {}

function refuse(st: fs.Stats): void {
  if (!st.isFile()) throw new BoundedReadError(st.isDirectory() ? 'is a directory' : 'not a regular file');
}

function tooLarge(limit: number): BoundedReadError {
  const size = limit % 1048576 === 0 ? `${limit / 1048576} MiB` : limit % 1024 === 0 ? `${limit / 1024} KiB` : `${limit} bytes`;
  return new BoundedReadError(`larger than the limit of ${size}`);
}

function explain(e: unknown): Error {
  if (e instanceof BoundedReadError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new BoundedReadError('no such file');
  if (code === 'EACCES' || code === 'EPERM') return new BoundedReadError('permission denied');
  if (code === 'ENOTDIR') return new BoundedReadError('not a directory in the path');
  if (code === 'ELOOP') return new BoundedReadError('too many symbolic links');
  return new BoundedReadError(code ? `cannot read: ${code}` : (e as Error).message);
}

/**
 * The content of the regular file `file`, read on libuv's thread pool: never blocks the event
 * loop, never holds more than `limit` bytes. Throws a BoundedReadError saying why not.
 */
export async function readBoundedRegularFile(file: string, limit: number): Promise<Buffer> {
  let handle: fsp.FileHandle | undefined;
  try {
    refuse(await fsp.stat(file));
    handle = await fsp.open(file, FLAGS);
    const st = await handle.stat();
    refuse(st);
    if (st.size > limit) throw tooLarge(limit);
    // st.size may be stale (a growing file) or 0 (procfs): read to EOF, stopping past the limit.
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, null);
      if (bytesRead === 0) return Buffer.concat(chunks, got);
      got += bytesRead;
      if (got > limit) throw tooLarge(limit);
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } catch (e) {
    throw explain(e);
  } finally {
    await handle?.close();
  }
}

/** The same rules for a short-lived process (the client), which may block on its own reads. */
export function readBoundedRegularFileSync(file: string, limit: number): Buffer {
  let fd: number | undefined;
  try {
    refuse(fs.statSync(file));
    fd = fs.openSync(file, FLAGS);
    const st = fs.fstatSync(fd);
    refuse(st);
    if (st.size > limit) throw tooLarge(limit);
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(CHUNK);
      const n = fs.readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) return Buffer.concat(chunks, got);
      got += n;
      if (got > limit) throw tooLarge(limit);
      chunks.push(buffer.subarray(0, n));
    }
  } catch (e) {
    throw explain(e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The last `limit` bytes (at most) of the regular file `file` as text, '' when it cannot be
 * read: for a log whose end is what matters and which may have grown large.
 */
export function readTail(file: string, limit: number): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, FLAGS | fs.constants.O_NOFOLLOW);
    const st = fs.fstatSync(fd);
    refuse(st);
    const length = Math.min(st.size, limit);
    const buffer = Buffer.allocUnsafe(length);
    const n = fs.readSync(fd, buffer, 0, length, st.size - length);
    return buffer.toString('utf8', 0, n);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
