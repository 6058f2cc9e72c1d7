/**
 * Mount targets, made by the engine inside the container's rootfs before LXC starts. LXC's
 * own create=dir/create=file runs mkdir_p on the host's view of the rootfs and follows every
 * symlink in it, so a rootfs or image whose /etc (or any mount point's parent) is a symlink
 * to a host directory would make it create files there. Here each target is resolved inside
 * the rootfs as the container will see it (src/sys/in-root.ts), created without following a
 * symlink, and handed to LXC resolved; LXC's safe_mount then refuses a symlink in it still.
 */
import path from 'node:path';
import { generalError } from '../../api/errors.js';
import { ensureFileInRoot, mkdirInRoot, resolveInRoot } from '../../sys/in-root.js';
import type { MountEntry } from './config.js';

/** A filesystem mounted over part of the rootfs, as the container will see it. */
interface Layer {
  /** Where it is mounted in the container, resolved. */
  target: string;
  /** The host directory that holds what lies below `target`, when on the host. */
  hostDir?: string;
  /** Whether the engine may create mount targets in hostDir. */
  writable?: boolean;
  /** A filesystem the container gets empty (a tmpfs): LXC may create targets in it. */
  fresh?: boolean;
}

/**
 * What LXC mounts before the mount entries (conf.c lxc_setup): autodev's fresh tmpfs on /dev
 * (where devices go), then proc and sysfs, which hold nothing to create and magic links
 * (/proc/<pid>/root) that lead to the host: targets there must exist and nothing is created.
 */
const CONTAINER_FILESYSTEMS: readonly Layer[] = [{ target: '/dev', fresh: true }, { target: '/proc' }, { target: '/sys' }];

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);

/**
 * Resolves every entry's target inside `rootfs` (a directory, the mounted rootfs) with the
 * entries mounted before it stacked on top, creates what is missing, and returns the entries
 * with resolved targets. Throws a one-line EngineError naming the target that cannot be used.
 */
export function prepareMountTargets(rootfs: string, entries: MountEntry[]): MountEntry[] {
  const layers: Layer[] = [...CONTAINER_FILESYSTEMS];
  // The topmost filesystem holding `p`: the deepest target, the latest mount among equals.
  const layerOf = (p: string): Layer | undefined => {
    let best: Layer | undefined;
    for (const l of layers) if (under(p, l.target) && (!best || l.target.length >= best.target.length)) best = l;
    return best;
  };
  const hostOf = (p: string): string | undefined => {
    const layer = layerOf(p);
    if (!layer) return path.join(rootfs, p);
    return layer.hostDir === undefined ? undefined : path.join(layer.hostDir, path.posix.relative(layer.target, p));
  };
  return entries.map((entry) => {
    let target: string;
    let lxcCreates = false;
    try {
      target = resolveInRoot(rootfs, entry.target, hostOf);
      const layer = layerOf(target);
      const [base, inBase] = layer ? [layer.writable ? layer.hostDir : undefined, `/${path.posix.relative(layer.target, target)}`] : [rootfs, target];
      if (base !== undefined) {
        if (entry.kind === 'dir') mkdirInRoot(base, inBase);
        else ensureFileInRoot(base, inBase);
      } else lxcCreates = layer?.fresh === true;
    } catch (e) {
      throw generalError(`cannot make the mount point ${entry.target} inside the container's rootfs: ${(e as Error).message}`);
    }
    layers.push({
      target,
      ...(entry.fstype === 'none' ? { hostDir: entry.source, writable: entry.writableDir === true } : {}),
      fresh: entry.fstype === 'tmpfs',
    });
    return { ...entry, target, lxcCreates };
  });
}
