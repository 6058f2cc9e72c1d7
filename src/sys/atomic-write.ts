import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

const tempOf = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
const TEMP_FILE = /^\..+\.\d+\.tmp$/;

/**
 * Deletes the temp files of writes a crash cut short in `dir` (none if it does not exist).
 * Only for a directory this daemon alone writes, before it writes there again.
 */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (TEMP_FILE.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/**
 * Replaces `file` so that a crash at any moment leaves either the old or the new content:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 */
export function atomicWriteFileSync(file: string, data: string | Uint8Array, mode = 0o640): void {
  const dir = path.dirname(file);
  const tmp = tempOf(file);
  try {
    const fd = fs.openSync(tmp, 'w', mode);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A failed write (disk full) leaves no temp file behind.
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** atomicWriteFileSync on libuv's thread pool: the event loop goes on while the disk syncs. */
export async function atomicWriteFile(file: string, data: string | Uint8Array, mode = 0o640): Promise<void> {
  const tmp = tempOf(file);
  try {
    const handle = await fsp.open(tmp, 'w', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDirAsync(path.dirname(file));
}

/**
 * Writes files that must not exist yet into `dir`, durably: each is created in place (no temp
 * file, no rename) and fsynced, and the directory is fsynced at the same time, once every file
 * has its entry. For a directory just made whose reader takes a torn or empty file for a write
 * that never finished (a new container's records): one fsync deep instead of two in a row, and
 * half the thread-pool round trips of an atomic write. On failure the files it made are removed.
 */
export async function writeNewFilesDurably(dir: string, files: readonly (readonly [name: string, data: string, mode: number])[]): Promise<void> {
  const paths = files.map(([name]) => path.join(dir, name));
  const opened = await Promise.allSettled(files.map(([, , mode], i) => fsp.open(paths[i]!, 'wx', mode)));
  // Every file that could be made has its entry now.
  const done = await Promise.allSettled([
    ...opened.map(async (o, i) => {
      if (o.status === 'rejected') throw o.reason;
      try {
        await o.value.writeFile(files[i]![1]);
        await o.value.sync();
      } finally {
        await o.value.close();
      }
    }),
    fsyncDirAsync(dir),
  ]);
  const error = done.find((d) => d.status === 'rejected');
  if (error) {
    await Promise.allSettled(paths.filter((_, i) => opened[i]!.status === 'fulfilled').map((p) => fsp.rm(p, { force: true })));
    throw error.reason;
  }
}

/** fsyncDir on libuv's thread pool. */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` without ever showing a torn one, but without the fsyncs: for files the
 * engine derives from its records and writes again at every start (LXC config, /etc files).
 */
export function replaceFileSync(file: string, data: string | Uint8Array, mode = 0o640): void {
  const tmp = tempOf(file);
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** replaceFileSync on libuv's thread pool. */
export async function replaceFile(file: string, data: string | Uint8Array, mode = 0o640): Promise<void> {
  const tmp = tempOf(file);
  try {
    await fsp.writeFile(tmp, data, { mode });
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates a directory and fsyncs its parent so the new entry itself survives a crash. */
export function mkdirDurable(dir: string, mode = 0o700): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  fsyncDir(path.dirname(dir));
}
