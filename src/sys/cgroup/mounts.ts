import fs from 'node:fs';

export interface CgroupMount {
  /** Mount point, e.g. /sys/fs/cgroup/memory or /sys/fs/cgroup/unified. */
  path: string;
  version: 1 | 2;
  /** v1: the controllers of this hierarchy (and `name=systemd` style names); v2: enabled controllers. */
  controllers: string[];
}

/** Parses /proc/self/mountinfo lines into cgroup mounts (fields after " - " are fstype, source, options). */
export function parseCgroupMounts(mountinfo: string, readV2Controllers: (dir: string) => string[]): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    if (!mountPoint) continue;
    if (fstype === 'cgroup') {
      const known = [
        'cpu',
        'cpuacct',
        'cpuset',
        'memory',
        'devices',
        'freezer',
        'blkio',
        'pids',
        'net_cls',
        'net_prio',
        'perf_event',
        'hugetlb',
        'rdma',
        'misc',
        'files',
      ];
      const controllers = superOpts.split(',').filter((o) => known.includes(o) || o.startsWith('name='));
      mounts.push({ path: mountPoint, version: 1, controllers });
    } else if (fstype === 'cgroup2') {
      mounts.push({ path: mountPoint, version: 2, controllers: readV2Controllers(mountPoint) });
    }
  }
  return mounts;
}

export interface CgroupLayout {
  version: 'v1' | 'v2' | 'hybrid' | 'none';
  mounts: CgroupMount[];
  /** Controllers usable for limits: v1 hierarchies' controllers, or v2's when no v1 exists. */
  controllers: string[];
}

export function describeCgroups(mounts: CgroupMount[]): CgroupLayout {
  const v1 = mounts.filter((m) => m.version === 1);
  const v2 = mounts.filter((m) => m.version === 2);
  const version = v1.length > 0 ? (v2.length > 0 ? 'hybrid' : 'v1') : v2.length > 0 ? 'v2' : 'none';
  const controllers = new Set<string>();
  for (const m of v1.length > 0 ? v1 : v2) for (const c of m.controllers) if (!c.startsWith('name=')) controllers.add(c);
  return { version, mounts, controllers: [...controllers].sort() };
}

let cached: CgroupLayout | undefined;

export function hostCgroups(): CgroupLayout {
  if (cached) return cached;
  const readV2 = (dir: string): string[] => {
    try {
      return fs.readFileSync(`${dir}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  };
  cached = describeCgroups(parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8'), readV2));
  return cached;
}
