import fs from 'node:fs';
import path from 'node:path';
import { replaceFileSync } from '../../sys/atomic-write.js';
import { isCgroupV2Only } from '../../sys/cgroup/tree.js';
import type { RuntimeSpec } from '../runtime.js';
import { mountEntries, renderLxcConfig } from './config.js';
import { renderHookScript } from './hooks.js';
import type { LxcLayout } from './layout.js';
import { prepareMountTargets } from './mount-targets.js';
import { DEFAULT_CAPS, effectiveCaps, ALL_CAPS } from './capabilities.js';
import { lxcSeccompOf } from './seccomp.js';

const SECCOMP_PROFILE = '/usr/share/lxc/config/common.seccomp';

/** Writes each container's LXC config file (config.ts renders it) and its OCI hook script. */
export class LxcConfigWriter {
  /** The LXC config last written per container, by this daemon. */
  private readonly written = new Map<string, string>();

  constructor(private readonly layout: LxcLayout) {}

  /**
   * `prepareTargets` at start, once the rootfs is a directory on the host: mount targets are
   * then resolved and made inside it (mount-targets.ts); at create they are only cleaned.
   */
  write(spec: RuntimeSpec, prepareTargets = false): void {
    const dir = this.layout.containerDir(spec.id);
    const isFile = (p: string): boolean => {
      try {
        return !fs.statSync(p).isDirectory();
      } catch {
        return false;
      }
    };
    const mounts = mountEntries(spec, isFile);
    const text = renderLxcConfig(
      spec,
      {
        containerDir: dir,
        logFile: this.layout.logFile(spec.id),
        postStopHook: this.layout.hookScript,
        seccompProfile: this.seccompFile(spec, dir),
        deviceRules: deviceRules(spec),
        hookScript: this.writeHookScript(spec),
        remountReadOnlyHook: this.layout.remountHook,
        monitorCgroup: this.layout.monitorCgroupOf(spec.id),
      },
      isCgroupV2Only(),
      prepareTargets && spec.rootfs.kind === 'dir' ? prepareMountTargets(spec.rootfs.path, mounts) : mounts,
    );
    // Written at create and again at every start (loop devices and resources change it);
    // unchanged, the rewrite is skipped.
    if (this.written.get(spec.id) === text) return;
    replaceFileSync(path.join(dir, 'config'), text, 0o640);
    this.written.set(spec.id, text);
  }

  /** The container's config is gone: the next one is written whatever it says. */
  forget(id: string): void {
    this.written.delete(id);
  }

  /** The engine's default profile, none (unconfined), or the container's JSON profile in LXC's format. */
  private seccompFile(spec: RuntimeSpec, dir: string): string | undefined {
    if (spec.seccompProfile === undefined) return fs.existsSync(SECCOMP_PROFILE) ? SECCOMP_PROFILE : undefined;
    if (spec.seccompProfile === 'unconfined' || spec.privileged) return undefined;
    const caps = effectiveCaps(DEFAULT_CAPS, spec.capAdd, spec.capDrop, spec.privileged) ?? ALL_CAPS;
    const file = path.join(dir, 'seccomp');
    replaceFileSync(file, lxcSeccompOf(spec.seccompProfile, caps), 0o640);
    return file;
  }

  private writeHookScript(spec: RuntimeSpec): string | undefined {
    if (!spec.hooks) return undefined;
    const file = this.layout.hookScriptPath(spec.id);
    replaceFileSync(file, renderHookScript(spec.id, this.layout.containerDir(spec.id), spec.hooks), 0o700);
    return file;
  }
}

/** Linux's dev_t split (new_decode_dev): 12 bits of major, 20 of minor. */
const major = (rdev: number): number => Math.floor(rdev / 256) & 0xfff;
const minor = (rdev: number): number => (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);

/** The device cgroup must let the container use the devices mapped into it, with their permissions. */
function deviceRules(spec: RuntimeSpec): string[] {
  const rules: string[] = [];
  for (const d of spec.devices) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d.hostPath);
    } catch {
      continue;
    }
    const kind = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
    if (kind) rules.push(`${kind} ${major(st.rdev)}:${minor(st.rdev)} ${d.permissions || 'rwm'}`);
  }
  return rules;
}
