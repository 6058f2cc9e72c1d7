import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { generalError } from '../../api/errors.js';
import { isFreezingOrFrozen, setFrozenNoWait } from '../../sys/cgroup/freezer.js';
import { cgroupPids, cgroupPresent, killCgroup, removeCgroup } from '../../sys/cgroup/tree.js';
import type { Logger } from '../../sys/log.js';
import { attachLoop } from '../../sys/loop.js';
import { isMountPoint, mountDevice, unmount } from '../../sys/mount.js';
import { processAlive } from '../../sys/procfs.js';
import type { RuntimeSpec } from '../runtime.js';
import { helpersOf, killHelper, releaseStdin } from './helper.js';
import type { LxcLayout } from './layout.js';

/** What a container's runs hold on the host: cgroups, a mounted rootfs, loop devices, state files. */
export class LxcHostResources {
  constructor(
    private readonly layout: LxcLayout,
    private readonly log: Logger,
  ) {}

  /**
   * LXC 5 cannot use a raw block device as rootfs (its dir storage bind-mounts the path), so
   * the engine mounts it on the host under the container's state dir and hands LXC that dir.
   */
  async blockRootfsAsDir(spec: RuntimeSpec): Promise<RuntimeSpec> {
    if (spec.rootfs.kind !== 'block') return spec;
    const dir = this.layout.blockRootfsDir(spec.id);
    if (!isMountPoint(dir)) await mountDevice(spec.rootfs.path, dir, spec.readOnly);
    return { ...spec, rootfs: { kind: 'dir', path: dir } };
  }

  /** squashfs mounts go through read-only loop devices, attached here for this run. */
  async withLoopDevices(spec: RuntimeSpec, loops: string[]): Promise<RuntimeSpec> {
    const mounts = [];
    for (const m of spec.mounts) {
      if (m.type !== 'squashfs') {
        mounts.push(m);
        continue;
      }
      const dev = await attachLoop(m.source, true);
      loops.push(dev);
      mounts.push({ ...m, source: dev });
    }
    return { ...spec, mounts };
  }

  /** LXC removes its cgroups itself, unless its monitor was killed: then they are left here. */
  removeLeftoverCgroups(spec: RuntimeSpec): void {
    for (const rel of [spec.cgroupPath, this.layout.monitorCgroupOf(spec.id)]) if (cgroupPresent(rel)) removeCgroup(rel);
  }

  /** SIGKILL to the container's cgroup, thawing it when frozen. */
  killAll(cgroupPath: string): void {
    killCgroup(cgroupPath);
    // A frozen task keeps a SIGKILL pending until thawed; whoever froze the container's
    // own cgroup (us, or someone writing freezer.state), it must thaw for the kill to land.
    // Without waiting: under a parent frozen by someone else it stays frozen, and a kill must
    // never hang on that (the garbage collector takes over).
    if (isFreezingOrFrozen(cgroupPath)) setFrozenNoWait(cgroupPath, false);
  }

  /** The garbage collector's round: see Runtime.killLeftovers. */
  killLeftovers(res: { cgroupPath: string; monitorCgroupPath: string }, shim: { pid: number; startTime: number }): void {
    this.killAll(res.cgroupPath);
    // The LXC monitor holds zombies' parent: ending it lets init reap them.
    if (shim.pid > 0 && processAlive(shim.pid, shim.startTime)) {
      killCgroup(res.monitorCgroupPath);
      try {
        process.kill(shim.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** Releases what one run held, once it is over: nothing of it is left for a restarted daemon to find. */
  async stopped(spec: RuntimeSpec): Promise<void> {
    // A block-device rootfs is mounted per run; the image's device must not stay busy.
    await unmount(this.layout.blockRootfsDir(spec.id));
    this.removeLeftoverCgroups(spec);
    releaseStdin(this.layout.stdinHolderFile(spec.id));
    fs.rmSync(this.layout.helperFile(spec.id), { force: true });
  }

  /**
   * A container whose record is not running may still have a run: the daemon was killed
   * during its start (the record says running only once it runs) or before the end of its
   * run was released. What that run left is killed and released, so no process of a
   * container runs unless its record says so. Returns true if processes were found.
   */
  async reclaim(spec: RuntimeSpec): Promise<boolean> {
    const helpers = (): number[] => helpersOf(this.layout.helperFile(spec.id), spec.id, this.layout.lxcpath);
    const cgroups = [spec.cgroupPath, this.layout.monitorCgroupOf(spec.id)];
    const found = helpers().length > 0 || cgroups.some((cg) => cgroupPids(cg).length > 0);
    if (found) {
      if (isFreezingOrFrozen(spec.cgroupPath)) setFrozenNoWait(spec.cgroupPath, false);
      if (!(await killHelper(helpers, cgroups, 5000))) throw generalError(`processes of the unfinished run of ${spec.id} do not die`);
    }
    await this.stopped(spec);
    fs.rmSync(this.layout.exitFile(spec.id), { force: true });
    return found;
  }

  /**
   * State and exit records of containers that have no record any more (`known` says which
   * do): a daemon killed while removing one. Whatever runs of them is killed (`cgroupOf`:
   * where such a container's processes are), then their files go.
   */
  async sweepOrphans(known: (id: string) => boolean, cgroupOf: (id: string) => string): Promise<string[]> {
    const orphans = new Set<string>();
    for (const dir of [this.layout.statePath, this.layout.exitsDir]) {
      for (const e of fs.readdirSync(dir)) if (/^[0-9a-f]{64}$/.test(e) && !known(e)) orphans.add(e);
    }
    for (const id of orphans) {
      const cgroups = [cgroupOf(id), this.layout.monitorCgroupOf(id)];
      if (!(await killHelper(() => helpersOf(this.layout.helperFile(id), id, this.layout.lxcpath), cgroups, 5000))) {
        this.log.warn(`processes of removed container ${id} do not die; its files stay`);
        continue;
      }
      releaseStdin(this.layout.stdinHolderFile(id));
      await unmount(this.layout.blockRootfsDir(id));
      for (const rel of cgroups) if (cgroupPresent(rel)) removeCgroup(rel);
      if (isMountPoint(this.layout.blockRootfsDir(id))) continue;
      for (const p of [this.layout.stateDir(id), this.layout.exitFile(id), this.layout.lockFile(id)]) fs.rmSync(p, { recursive: true, force: true });
    }
    return [...orphans];
  }

  hostResources(spec: RuntimeSpec): { cgroupPath: string; monitorCgroupPath: string; mounts: string[]; stateDirs: string[] } {
    return {
      cgroupPath: spec.cgroupPath,
      monitorCgroupPath: this.layout.monitorCgroupOf(spec.id),
      mounts: [this.layout.blockRootfsDir(spec.id)],
      stateDirs: [this.layout.stateDir(spec.id), this.layout.exitFile(spec.id)],
    };
  }

  /** Removes every file the back-end made for the container, once its last run is released. */
  async removeFiles(id: string): Promise<void> {
    const gone = [
      this.layout.stateDir(id),
      this.layout.exitFile(id),
      path.join(this.layout.containerDir(id), 'config'),
      this.layout.logFile(id),
      this.layout.lockFile(id),
    ];
    await Promise.all(gone.map((p) => fsp.rm(p, { recursive: true, force: true })));
  }
}
