import fs from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` so that a crash at any moment leaves either the old or the new content:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 */
export function atomicWriteFileSync(file: string, data: string | Uint8Array, mode = 0o640): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/**
 * Replaces `file` without ever showing a torn one, but without the fsyncs: for files the
 * engine derives from its records and writes again at every start (LXC config, /etc files).
 */
export function replaceFileSync(file: string, data: string | Uint8Array, mode = 0o640): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
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
