/**
 * `isula export`: a container's filesystem (its mounted rootfs: image layers and its own upper
 * layer merged, whiteouts applied by overlay) as one tar, by GNU tar. tar walks the directory
 * without following symlinks, stays on that filesystem (`--one-file-system`: nothing mounted
 * inside is exported, nothing outside reached), and keeps numeric owners and xattrs, which
 * Node could not read (no getxattr).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface TarProcess {
  /** The tar's bytes. */
  stdout: Readable;
  /** Settles when tar ends: rejects on a fatal error (exit 2 or a signal). */
  done: Promise<void>;
  kill(): void;
}

/** Streams `root` as a tar. Exit 1 (a file changed while it was read, a socket skipped) is a warning, as for `docker export` of a running container. */
export function tarDirectory(root: string, onWarning: (text: string) => void): TarProcess {
  const child = spawn(
    'tar',
    [
      '--create',
      '--file=-',
      `--directory=${root}`,
      '--numeric-owner',
      '--one-file-system',
      '--xattrs',
      '--xattrs-include=*',
      // --xattrs makes a POSIX archive; without these, every member would get a PAX record of its access and change times.
      '--pax-option=delete=atime,delete=ctime,delete=mtime',
      '--sort=name',
      '.',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      if (code === 1) {
        onWarning(stderr.trim());
        return resolve();
      }
      reject(new Error(`tar of ${root} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join('; ')}`));
    });
  });
  return { stdout: child.stdout, done, kill: () => child.kill('SIGKILL') };
}
