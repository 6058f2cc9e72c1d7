/**
 * Disk usage of a folder as `du -x` counts it (and containerd's continuity `DiskUsage`):
 * allocated blocks and inodes, each inode once however many hard links name it, without
 * crossing into other filesystems (an overlay container rootfs mounted inside is not the
 * folder's own usage).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface DiskUsage {
  bytes: number;
  inodes: number;
}

export async function diskUsage(root: string): Promise<DiskUsage> {
  const top = await fs.lstat(root);
  const seen = new Set<string>();
  let bytes = 0;
  const count = (st: { dev: number; ino: number; blocks: number }): void => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    bytes += st.blocks * 512;
  };
  count(top);
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      // Removed meanwhile (a layer deleted during the walk), or unreadable: not counted.
      return;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st || st.dev !== top.dev) continue;
      count(st);
      if (st.isDirectory()) await walk(p);
    }
  };
  if (top.isDirectory()) await walk(root);
  return { bytes, inodes: seen.size };
}
