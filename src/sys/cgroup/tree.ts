import fs from 'node:fs';
import path from 'node:path';
import { hostCgroups, type CgroupMount } from './mounts.js';

/** The directory of cgroup `rel` (e.g. isulad/<id>) in every mounted hierarchy. */
export function cgroupDirs(rel: string): { mount: CgroupMount; dir: string }[] {
  return hostCgroups().mounts.map((mount) => ({ mount, dir: path.join(mount.path, rel) }));
}

/** The directory of `rel` in the hierarchy that holds `controller` (v1), or in cgroup2. */
export function controllerDir(rel: string, controller: string): string | undefined {
  const layout = hostCgroups();
  const v1 = layout.mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
  if (v1) return path.join(v1.path, rel);
  const v2 = layout.mounts.find((m) => m.version === 2);
  return v2 ? path.join(v2.path, rel) : undefined;
}

export function isCgroupV2Only(): boolean {
  return hostCgroups().version === 'v2';
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name));
  } catch {
    return [];
  }
}

/** Every pid in cgroup `rel` and its descendants; a cgroup already gone reads as empty. */
export function cgroupPids(rel: string): number[] {
  const root = pidsHierarchyDir(rel);
  if (!root) return [];
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const l of readLines(path.join(dir, 'cgroup.procs'))) pids.add(Number(l));
    for (const sub of subdirs(dir)) walk(sub);
  };
  walk(root);
  return [...pids];
}

/** SIGKILLs every process in cgroup `rel` and its descendants; those already gone are skipped. */
export function killCgroup(rel: string): void {
  for (const pid of cgroupPids(rel)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Removes cgroup `rel` in every hierarchy, deepest directories first. Returns what could not go. */
export function removeCgroup(rel: string): string[] {
  const left: string[] = [];
  const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;
  const remove = (dir: string): void => {
    // Mostly already gone (LXC removes its own) or a leaf: one rmdir per hierarchy, no more.
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      if (errno(e) !== 'EBUSY' && errno(e) !== 'ENOTEMPTY') return void left.push(dir);
    }
    // Child cgroups first (or tasks still in it, and then it stays).
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      // gone meanwhile
    }
    for (const d of entries) if (d.isDirectory()) remove(path.join(dir, d.name));
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      if (errno(e) !== 'ENOENT') left.push(dir);
    }
  };
  for (const { dir } of cgroupDirs(rel)) remove(dir);
  return left;
}

/**
 * Whether cgroup `rel` is in any hierarchy. LXC makes and removes a container's cgroups one
 * hierarchy after another, so a monitor killed in between leaves them in some only (seen: the
 * name=systemd one alone).
 */
export function cgroupPresent(rel: string): boolean {
  return cgroupDirs(rel).some(({ dir }) => fs.existsSync(dir));
}

/** Cgroup `rel` in the one hierarchy that holds all its processes: pids (or cgroup2), else the first. */
function pidsHierarchyDir(rel: string): string | undefined {
  return controllerDir(rel, 'pids') ?? cgroupDirs(rel)[0]?.dir;
}

export function writeCgroupFile(dir: string, file: string, value: string): void {
  fs.writeFileSync(path.join(dir, file), value);
}

export function readCgroupFile(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}
