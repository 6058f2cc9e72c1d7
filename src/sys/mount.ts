import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from './spawner.js';

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const r = await runCommand(cmd, args, { cwd });
  if (r.code === 0) return;
  const detail = r.stderr.trim() || `exit status ${r.code}`;
  throw new Error(`${cmd} ${args.join(' ')} failed: ${detail.replace(/^(u?mount): /, '')}`);
}

/** Mount points currently in this mount namespace (octal escapes of mountinfo decoded). */
function mountPoints(): Set<string> {
  const points = new Set<string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(field.replace(/\\(\d{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return points;
}

/**
 * Whether `dir` (a directory or file the engine made; a symlink is not followed) has something
 * mounted on it. A filesystem other than its parent's is one at once (overlays, nsfs, block
 * devices: the engine's own mounts) without reading the whole mount table, which grows with
 * every running container; a bind mount from the same filesystem looks like its parent, so the
 * table decides that case. A path that does not exist is not a mount point.
 */
export function isMountPoint(dir: string): boolean {
  const own = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!own) return false;
  if (own.dev !== fs.lstatSync(path.dirname(dir)).dev) return true;
  return mountPoints().has(dir);
}

/** Mounts a block device (filesystem type detected by mount(8)) on `dir`. */
export async function mountDevice(device: string, dir: string, readOnly: boolean): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await run('mount', ['-o', readOnly ? 'ro' : 'rw', device, dir]);
}

/** The kernel takes one page of mount options (mount(2)); longer ones fail with a vague EINVAL. */
export const MAX_MOUNT_OPTIONS = 4095;

/**
 * Mounts a filesystem of type `fstype` with `options` on `target`, mount(8) running in `cwd`:
 * relative paths in the options (overlay's short lowerdir links) resolve there, so more
 * layers fit in the one page the kernel takes.
 */
export async function mountFs(fstype: string, source: string, target: string, options: string, cwd?: string): Promise<void> {
  if (options.length > MAX_MOUNT_OPTIONS) throw new Error(`mount ${target}: ${options.length} bytes of mount options, over the kernel's ${MAX_MOUNT_OPTIONS}`);
  await run('mount', ['-t', fstype, '-o', options, source, target], cwd);
}

/** Flushes the filesystem holding `dir` to disk (syncfs(2), through coreutils' `sync -f`). */
export function syncFilesystem(dir: string): Promise<void> {
  return run('sync', ['-f', dir]);
}

/** Unmounts `dir` if it is a mount point; a busy one is detached lazily. */
export async function unmount(dir: string): Promise<void> {
  if (!isMountPoint(dir)) return;
  try {
    await run('umount', [dir]);
  } catch {
    await run('umount', ['-l', dir]);
  }
}
