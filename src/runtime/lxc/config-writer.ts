import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { replaceFile, replaceFileSync } from '../../sys/atomic-write.js';
import { isCgroupV2Only } from '../../sys/cgroup/tree.js';
import type { RuntimeSpec } from '../runtime.js';
import { mountEntries, renderLxcConfig } from './config.js';
import { renderHookScript } from './hooks.js';
import type { LxcLayout } from './layout.js';
import { prepareMountTargets } from './mount-targets.js';
import { DEFAULT_CAPS, effectiveCaps, ALL_CAPS } from './capabilities.js';
import { lxcSeccompOf } from './seccomp.js';

const SECCOMP_PROFILE = '/usr/share/lxc/config/common.seccomp';

/** A container's LXC files as rendered: the config, and the seccomp profile and hook script it names. */
interface Rendered {
  id: string;
  dir: string;
  config: string;
  /** Written whenever the config is written or checked: [file, text, mode]. */
  extras: [string, string, number][];
}

/** Writes each container's LXC config file (config.ts renders it) and its OCI hook script. */
export class LxcConfigWriter {
  /** The LXC config last written per container, by this daemon. */
  private readonly written = new Map<string, string>();
  /** Writes a create left for later (prepare): the container's other verbs wait for them. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly layout: LxcLayout) {}

  /**
   * `prepareTargets` at start, once the rootfs is a directory on the host: mount targets are
   * then resolved and made inside it (mount-targets.ts); at create they are only cleaned.
   * Written at create and again at every start (loop devices and resources change it);
   * unchanged, the rewrite is skipped. The directory is made if a create's write never came
   * (a daemon killed before it).
   */
  write(spec: RuntimeSpec, prepareTargets = false): void {
    const r = this.render(spec, prepareTargets);
    fs.mkdirSync(r.dir, { recursive: true, mode: 0o700 });
    for (const [file, text, mode] of r.extras) replaceFileSync(file, text, mode);
    if (this.written.get(spec.id) === r.config) return;
    replaceFileSync(path.join(r.dir, 'config'), r.config, 0o640);
    this.written.set(spec.id, r.config);
  }

  /**
   * At create: rendered now (a config this runtime cannot express is refused with the
   * create), written on the thread pool once `committed` resolved and the caller's answer is
   * out; not at all if it rejects (the create failed). Nothing durable: every start writes the
   * config again from the record. A failed write only comes back from `settled`, which the
   * container's next verb awaits before it rewrites.
   */
  prepare(spec: RuntimeSpec, committed: Promise<unknown>): Promise<void> {
    const r = this.render(spec, false);
    const write = async (): Promise<void> => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await fsp.mkdir(r.dir, { recursive: true, mode: 0o700 });
      await Promise.all(r.extras.map(([file, text, mode]) => replaceFile(file, text, mode)));
      await replaceFile(path.join(r.dir, 'config'), r.config, 0o640);
      this.written.set(r.id, r.config);
    };
    const p = committed
      .then(write, () => undefined)
      .finally(() => {
        if (this.pending.get(r.id) === p) this.pending.delete(r.id);
      });
    this.pending.set(r.id, p);
    return p;
  }

  /** Resolves once a create's writes for `id` are over, whatever came of them. */
  async settled(id: string): Promise<void> {
    await this.pending.get(id)?.catch(() => undefined);
  }

  /** The container's config is gone: the next one is written whatever it says. */
  forget(id: string): void {
    this.written.delete(id);
  }

  private render(spec: RuntimeSpec, prepareTargets: boolean): Rendered {
    const dir = this.layout.containerDir(spec.id);
    const isFile = (p: string): boolean => {
      try {
        return !fs.statSync(p).isDirectory();
      } catch {
        return false;
      }
    };
    const mounts = mountEntries(spec, isFile);
    const extras: Rendered['extras'] = [];
    const config = renderLxcConfig(
      spec,
      {
        containerDir: dir,
        logFile: this.layout.logFile(spec.id),
        postStopHook: this.layout.hookScript,
        seccompProfile: this.seccompFile(spec, dir, extras),
        deviceRules: deviceRules(spec),
        hookScript: this.hookScript(spec, extras),
        remountReadOnlyHook: this.layout.remountHook,
        monitorCgroup: this.layout.monitorCgroupOf(spec.id),
      },
      isCgroupV2Only(),
      prepareTargets && spec.rootfs.kind === 'dir' ? prepareMountTargets(spec.rootfs.path, mounts) : mounts,
    );
    return { id: spec.id, dir, config, extras };
  }

  /** The engine's default profile, none (unconfined), or the container's JSON profile in LXC's format. */
  private seccompFile(spec: RuntimeSpec, dir: string, extras: Rendered['extras']): string | undefined {
    if (spec.seccompProfile === undefined) return this.defaultSeccomp;
    if (spec.seccompProfile === 'unconfined' || spec.privileged) return undefined;
    const caps = effectiveCaps(DEFAULT_CAPS, spec.capAdd, spec.capDrop, spec.privileged) ?? ALL_CAPS;
    const file = path.join(dir, 'seccomp');
    extras.push([file, lxcSeccompOf(spec.seccompProfile, caps), 0o640]);
    return file;
  }

  /** LXC's common profile when installed: looked up once. */
  private get defaultSeccomp(): string | undefined {
    this.commonSeccomp ??= fs.existsSync(SECCOMP_PROFILE) ? SECCOMP_PROFILE : '';
    return this.commonSeccomp || undefined;
  }
  private commonSeccomp: string | undefined;

  private hookScript(spec: RuntimeSpec, extras: Rendered['extras']): string | undefined {
    if (!spec.hooks) return undefined;
    const file = this.layout.hookScriptPath(spec.id);
    extras.push([file, renderHookScript(spec.id, this.layout.containerDir(spec.id), spec.hooks), 0o700]);
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
