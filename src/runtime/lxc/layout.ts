import fs from 'node:fs';
import path from 'node:path';
import { HELPER_FILE, STDIN_HOLDER_FILE } from './helper.js';

/** Where liblxc, run as root, keeps its per-container lock files: <dir>/<lxcpath>/.<name>. */
export const LXC_LOCK_DIR = '/run/lxc/lock';

/** Where the LXC back-end keeps what it makes for each container: files, FIFOs, cgroups. */
export class LxcLayout {
  readonly lxcpath: string;
  readonly statePath: string;
  readonly exitsDir: string;
  /** The post-stop hook that records a run's exit (scripts.ts). */
  readonly hookScript: string;
  readonly remountHook: string;
  /** statePath with symlinks resolved, known once makeDirs() has created it. */
  private realStatePath: string | undefined;

  constructor(
    graph: string,
    state: string,
    private readonly monitorCgroupParent: string,
  ) {
    this.lxcpath = path.join(graph, 'engines', 'lcr');
    this.statePath = path.join(state, 'lcr');
    this.exitsDir = path.join(this.statePath, 'exits');
    this.hookScript = path.join(this.statePath, 'record-exit');
    this.remountHook = path.join(this.statePath, 'remount-ro');
  }

  makeDirs(): void {
    for (const dir of [this.lxcpath, this.statePath, this.exitsDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.realStatePath = fs.realpathSync(this.statePath);
  }

  containerDir(id: string): string {
    return path.join(this.lxcpath, id);
  }

  logFile(id: string): string {
    return path.join(this.containerDir(id), 'lxc.log');
  }

  hookScriptPath(id: string): string {
    return path.join(this.containerDir(id), 'oci-hooks.sh');
  }

  stateDir(id: string): string {
    return path.join(this.statePath, id);
  }

  exitFile(id: string): string {
    return path.join(this.exitsDir, id);
  }

  helperFile(id: string): string {
    return path.join(this.stateDir(id), HELPER_FILE);
  }

  stdinHolderFile(id: string): string {
    return path.join(this.stateDir(id), STDIN_HOLDER_FILE);
  }

  /** liblxc takes a lock file per container and never deletes it. */
  lockFile(id: string): string {
    return path.join(LXC_LOCK_DIR, this.lxcpath, `.${id}`);
  }

  /** LXC's monitor runs in a cgroup of its own per container, beside the containers'. */
  monitorCgroupOf(id: string): string {
    return `${this.monitorCgroupParent}/${id}`;
  }

  /**
   * Where a block-device rootfs is mounted. mount(8) records the canonical path, so this must
   * be canonical too, or the mount is not recognised as such: with the default state dir
   * /var/run/isulad, /var/run is a symlink to /run on Debian.
   */
  blockRootfsDir(id: string): string {
    return path.join(this.realStatePath ?? this.statePath, id, 'rootfs');
  }
}
