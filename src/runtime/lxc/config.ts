import fs from 'node:fs';
import type { ResourceSpec } from '../../api/containers.js';
import { cleanInRoot } from '../../sys/in-root.js';
import type { RuntimeSpec } from '../runtime.js';
import { effectiveCaps, DEFAULT_CAPS, SYSTEM_CONTAINER_CAPS } from './capabilities.js';

/** Paths the LXC config refers to, owned by the LXC back-end. */
export interface LxcPaths {
  containerDir: string;
  logFile: string;
  postStopHook: string;
  /** LXC's seccomp file; none for an unconfined container. */
  seccompProfile: string | undefined;
  /** Device cgroup rules of the devices mapped into the container (`c 10:229 rwm`). */
  deviceRules?: string[];
  /** Mount hook that makes the rootfs read-only once everything is mounted. */
  remountReadOnlyHook: string;
  /** Script running the container's OCI hooks, when it has any. */
  hookScript: string | undefined;
  monitorCgroup: string;
}

/** Devices every container may use (Docker's default device cgroup rules). */
const DEFAULT_DEVICE_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm',
  'c 1:5 rwm',
  'c 1:7 rwm',
  'c 1:8 rwm',
  'c 1:9 rwm',
  'c 5:0 rwm',
  'c 5:1 rwm',
  'c 5:2 rwm',
  'c 136:* rwm',
  'c 10:200 rwm',
];

/** LXC config values run to the end of the line: a newline would inject another key. */
function clean(value: string, what: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${what} must not contain a newline`);
  return value;
}

/** One lxc.mount.entry, in mount order. */
export interface MountEntry {
  source: string;
  /** Absolute path in the container; after prepareMountTargets, resolved inside the rootfs. */
  target: string;
  fstype: string;
  options: string[];
  /** What the target must be: a directory, or a file (binds of files, devices). */
  kind: 'dir' | 'file';
  /** A bind whose source can hold further mount targets (a directory, mounted read-write). */
  writableDir?: boolean;
  /**
   * Left for LXC to create (create=dir|file): set only for targets in a filesystem the
   * container gets fresh (a tmpfs), where no symlink can lead LXC's mkdir out of the rootfs.
   */
  lxcCreates?: boolean;
}

/** fstab's escapes (getmntent decodes them): a space in a path cannot start the next field. */
const fstabField = (p: string): string => p.replace(/[\\ \t]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);

/**
 * The container's mounts in the order LXC mounts them: devices, the etc files of an app
 * container, then image layers and the user's mounts. Targets are cleaned, not yet resolved.
 */
export function mountEntries(spec: RuntimeSpec, isFile: (path: string) => boolean): MountEntry[] {
  const entries: MountEntry[] = spec.devices.map((d) => ({ source: d.hostPath, target: d.containerPath, fstype: 'none', options: ['bind'], kind: 'file' }));
  if (!spec.systemContainer) {
    for (const [source, target] of [
      [spec.etcFiles.hostname, '/etc/hostname'],
      [spec.etcFiles.hosts, '/etc/hosts'],
      [spec.etcFiles.resolvConf, '/etc/resolv.conf'],
    ] as const) {
      if (source === undefined) continue;
      entries.push({ source, target, fstype: 'none', options: ['bind', ...(spec.readOnly ? ['ro'] : [])], kind: 'file' });
    }
  }
  for (const m of spec.mounts) {
    switch (m.type) {
      case 'tmpfs':
        entries.push({
          source: 'tmpfs',
          target: m.destination,
          fstype: 'tmpfs',
          options: ['rw', 'nosuid', 'nodev', 'noexec', ...(m.options ? m.options.split(',') : [])],
          kind: 'dir',
        });
        break;
      case 'squashfs':
        entries.push({ source: m.source, target: m.destination, fstype: 'squashfs', options: ['ro', 'nodev'], kind: 'dir' });
        break;
      case 'bind': {
        const kind = isFile(m.source) ? 'file' : 'dir';
        const options = ['rbind', m.readOnly ? 'ro' : 'rw', m.propagation ?? 'rprivate'];
        entries.push({ source: m.source, target: m.destination, fstype: 'none', options, kind, writableDir: kind === 'dir' && !m.readOnly });
        break;
      }
    }
  }
  return entries.map((e) => ({ ...e, target: cleanInRoot(e.target) }));
}

function renderMountEntry(e: MountEntry): string {
  const options = fstabField(clean([...e.options, ...(e.lxcCreates ? [`create=${e.kind}`] : [])].join(','), 'mount options'));
  // LXC takes a relative target as relative to the rootfs.
  const target = fstabField(clean(e.target.replace(/^\/+/, ''), 'mount destination'));
  return `lxc.mount.entry = ${fstabField(clean(e.source, 'mount source'))} ${target} ${e.fstype} ${options} 0 0`;
}

/** LXC's proc:mixed already makes these read-only. */
const READ_ONLY_ALREADY = new Set(['/proc/sys', '/proc/sysrq-trigger']);

/**
 * Masked and read-only paths (CRI's, kubelet's defaults) as mount entries after the others:
 * LXC has mounted /proc and /sys by then (lxc.mount.auto), so the targets are in them. A
 * masked file gets /dev/null bound over it, a directory an empty read-only tmpfs; a read-only
 * path the host's same path bound read-only (their contents are not per-container: /proc/bus,
 * /proc/irq, ...). The host decides file or directory; what a kernel lacks is `optional`.
 */
function procSysEntries(spec: RuntimeSpec): string[] {
  const isDir = (p: string): boolean | undefined => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  const lines: string[] = [];
  for (const p of spec.maskedPaths ?? []) {
    const dir = isDir(p);
    if (dir === undefined) continue;
    const target = fstabField(clean(p.slice(1), 'masked path'));
    lines.push(
      dir ? `lxc.mount.entry = tmpfs ${target} tmpfs ro,nosuid,nodev,noexec,optional 0 0` : `lxc.mount.entry = /dev/null ${target} none bind,ro,optional 0 0`,
    );
  }
  for (const p of spec.readonlyPaths ?? []) {
    if (READ_ONLY_ALREADY.has(p) || isDir(p) === undefined) continue;
    const path = fstabField(clean(p, 'read-only path'));
    lines.push(`lxc.mount.entry = ${path} ${path.slice(1)} none rbind,ro,optional 0 0`);
  }
  return lines;
}

/** One resource limit: the cgroup file `<controller>.<key>` of the container gets `value`. */
export interface CgroupSetting {
  controller: string;
  key: string;
  value: string;
  /** A cgroup v1 key even on a pure cgroup2 host (openEuler's files controller has no v2 form). */
  v1Only?: boolean;
}

/** Resource limits as cgroup v1 settings, or v2 ones on a pure cgroup2 host, in the order they are applied. */
export function cgroupSettings(r: ResourceSpec, cgroupV2: boolean): CgroupSetting[] {
  const settings: CgroupSetting[] = [];
  const set = (controller: string, key: string, value: string | number): void => {
    settings.push({ controller, key, value: String(value) });
  };
  if (r.memory) set('memory', cgroupV2 ? 'max' : 'limit_in_bytes', r.memory);
  if (r.memorySwap !== undefined && r.memorySwap !== 0) {
    if (cgroupV2) set('memory', 'swap.max', r.memorySwap < 0 ? 'max' : r.memorySwap - (r.memory ?? 0));
    else set('memory', 'memsw.limit_in_bytes', r.memorySwap);
  }
  if (r.cpuShares) {
    if (cgroupV2) set('cpu', 'weight', Math.max(1, Math.min(10000, Math.round(1 + ((r.cpuShares - 2) * 9999) / 262142))));
    else set('cpu', 'shares', r.cpuShares);
  }
  let period = r.cpuPeriod;
  let quota = r.cpuQuota;
  if (r.nanoCpus) {
    period = 100_000;
    quota = Math.round((r.nanoCpus * period) / 1e9);
  }
  if (quota) {
    if (cgroupV2) set('cpu', 'max', `${quota} ${period ?? 100_000}`);
    else {
      set('cpu', 'cfs_period_us', period ?? 100_000);
      set('cpu', 'cfs_quota_us', quota);
    }
  }
  if (r.cpusetCpus) set('cpuset', 'cpus', clean(r.cpusetCpus, 'cpuset-cpus'));
  if (r.cpusetMems) set('cpuset', 'mems', clean(r.cpusetMems, 'cpuset-mems'));
  if (r.pidsLimit && r.pidsLimit > 0) set('pids', 'max', r.pidsLimit);
  if (r.filesLimit && r.filesLimit > 0) settings.push({ controller: 'files', key: 'limit', value: String(r.filesLimit), v1Only: true });
  for (const h of r.hugepageLimits ?? []) set('hugetlb', `${clean(h.pageSize, 'hugepage size')}.${cgroupV2 ? 'max' : 'limit_in_bytes'}`, h.limit);
  // Validated at create (cgroup v2 only): `<controller>.<key>` files of the container's cgroup.
  for (const [file, value] of Object.entries(r.unified ?? {})) {
    const dot = file.indexOf('.');
    set(file.slice(0, dot), file.slice(dot + 1), clean(value, `unified ${file}`));
  }
  return settings;
}

function renderCgroupSetting(s: CgroupSetting, cgroupV2: boolean): string {
  return `${cgroupV2 && !s.v1Only ? 'lxc.cgroup2' : 'lxc.cgroup'}.${s.controller}.${s.key} = ${s.value}`;
}

/**
 * A joined network namespace (a pod's) is set up by its owner: LXC configures none. Otherwise
 * host networking, or an empty network whose loopback LXC brings up when the device is flagged up.
 */
function networkLines(spec: RuntimeSpec): string[] {
  const shares = Object.entries(spec.namespaces ?? {}).map(([kind, file]) => `lxc.namespace.share.${kind} = ${clean(file, 'namespace path')}`);
  if (spec.namespaces?.net) return shares;
  return [...(spec.networkMode === 'host' ? ['lxc.net.0.type = none'] : ['lxc.net.0.type = empty', 'lxc.net.0.flags = up']), ...shares];
}

/** Renders the LXC config of a container: no templates, everything explicit; `mounts` from mountEntries. */
export function renderLxcConfig(spec: RuntimeSpec, paths: LxcPaths, cgroupV2: boolean, mounts: MountEntry[]): string {
  const lines: string[] = [
    '# Written by isulad; regenerated at every start.',
    `lxc.uts.name = ${clean(spec.hostname, 'hostname')}`,
    spec.rootfs.kind === 'dir' ? `lxc.rootfs.path = dir:${clean(spec.rootfs.path, 'rootfs')}` : `lxc.rootfs.path = ${clean(spec.rootfs.path, 'rootfs')}`,
  ];
  if (spec.readOnly) lines.push(`lxc.hook.mount = ${paths.remountReadOnlyHook}`);
  lines.push(
    // An empty network still has its loopback: LXC brings `lo` up when the device is flagged up.
    ...networkLines(spec),
    `lxc.apparmor.profile = ${clean(spec.apparmorProfile ?? 'unconfined', 'apparmor profile')}`,
    'lxc.autodev = 1',
    `lxc.mount.auto = ${spec.privileged ? 'proc:rw sys:rw cgroup:rw' : 'proc:mixed sys:ro cgroup:mixed'}`,
    'lxc.tty.max = 0',
    'lxc.pty.max = 1024',
    spec.tty ? '' : 'lxc.console.path = none',
    `lxc.cgroup.dir.container = ${spec.cgroupPath}`,
    `lxc.cgroup.dir.monitor = ${paths.monitorCgroup}`,
    `lxc.log.file = ${paths.logFile}`,
    // INFO carries the "Child <pid> ended on ..." line the post-stop hook turns into the exit code.
    'lxc.log.level = INFO',
    `lxc.hook.post-stop = ${paths.postStopHook}`,
    ...(paths.hookScript ? [`lxc.hook.start-host = /bin/sh ${paths.hookScript} prestart`, `lxc.hook.post-stop = /bin/sh ${paths.hookScript} poststop`] : []),
    `lxc.init.uid = ${spec.user.uid}`,
    `lxc.init.gid = ${spec.user.gid}`,
    `lxc.init.cwd = ${clean(spec.workdir || '/', 'workdir')}`,
  );
  if (spec.user.groups.length > 0) lines.push(`lxc.init.groups = ${spec.user.groups.join(',')}`);
  if (spec.systemContainer) lines.push('lxc.signal.halt = SIGPWR', 'lxc.signal.stop = SIGKILL');
  if (!spec.privileged && paths.seccompProfile) lines.push(`lxc.seccomp.profile = ${paths.seccompProfile}`);
  if (spec.noNewPrivileges) lines.push('lxc.no_new_privs = 1');

  const caps = effectiveCaps(spec.systemContainer ? SYSTEM_CONTAINER_CAPS : DEFAULT_CAPS, spec.capAdd, spec.capDrop, spec.privileged);
  if (caps) lines.push(`lxc.cap.keep = ${caps.length > 0 ? caps.map((c) => c.toLowerCase()).join(' ') : 'none'}`);

  const devicesKey = cgroupV2 ? 'lxc.cgroup2.devices' : 'lxc.cgroup.devices';
  if (spec.privileged) lines.push(`${devicesKey}.allow = a`);
  else {
    lines.push(`${devicesKey}.deny = a`);
    for (const rule of [...DEFAULT_DEVICE_RULES, ...(paths.deviceRules ?? [])]) lines.push(`${devicesKey}.allow = ${clean(rule, 'device rule')}`);
  }
  for (const s of cgroupSettings(spec.resources, cgroupV2)) lines.push(renderCgroupSetting(s, cgroupV2));
  for (const u of spec.ulimits) lines.push(`lxc.prlimit.${u.name} = ${u.soft}:${u.hard}`);

  for (const [key, value] of Object.entries(spec.sysctls ?? {})) lines.push(`lxc.sysctl.${clean(key, 'sysctl')} = ${clean(value, 'sysctl value')}`);
  for (const e of mounts) lines.push(renderMountEntry(e));
  for (const line of procSysEntries(spec)) lines.push(line);
  for (const e of spec.env) lines.push(`lxc.environment = ${clean(e, 'environment variable')}`);
  return `${lines.filter((l) => l !== '').join('\n')}\n`;
}
