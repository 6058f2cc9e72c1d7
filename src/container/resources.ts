import fs from 'node:fs';
import os from 'node:os';
import type { ResourceSpec } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import { hostCgroups } from '../sys/cgroup/mounts.js';

/** cgroup v2 files a container may set through `unified`: a controller's own keys, not cgroup.* (cgroup.procs would move processes). */
const UNIFIED_KEY_RE = /^(cpu|cpuset|memory|io|pids|hugetlb|rdma|misc)\.[a-z0-9_.]+$/;
const PAGE_SIZE_RE = /^(\d+)(KB|MB|GB)$/;

/** hugetlb page sizes as the kernel names them (hugetlb.2MB.*), from /sys/kernel/mm/hugepages. */
function hostPageSizes(): string[] {
  const unit = (kb: number): string => (kb % (1024 * 1024) === 0 ? `${kb / 1024 / 1024}GB` : kb % 1024 === 0 ? `${kb / 1024}MB` : `${kb}KB`);
  try {
    return fs.readdirSync('/sys/kernel/mm/hugepages').map((d) => unit(Number(/^hugepages-(\d+)kB$/.exec(d)?.[1] ?? 0)));
  } catch {
    return [];
  }
}

/** hugepage limits and cgroup v2 keys: checked against what this host's cgroups have. */
function validateCgroupExtras(r: ResourceSpec): void {
  const layout = hostCgroups();
  if (r.hugepageLimits && r.hugepageLimits.length > 0) {
    if (!layout.controllers.includes('hugetlb'))
      throw invalidArgs(`hugepage limits are refused: no usable hugetlb cgroup controller on this host (cgroups ${layout.version})`);
    const sizes = hostPageSizes();
    for (const h of r.hugepageLimits) {
      if (!PAGE_SIZE_RE.test(h.pageSize) || !sizes.includes(h.pageSize))
        throw invalidArgs(`invalid hugepage size "${h.pageSize}": this host has ${sizes.join(', ') || 'none'}`);
      if (!Number.isSafeInteger(h.limit) || h.limit < 0) throw invalidArgs(`invalid hugepage limit ${h.limit} for ${h.pageSize}`);
    }
  }
  const unified = Object.entries(r.unified ?? {});
  if (unified.length > 0) {
    if (layout.version !== 'v2') throw invalidArgs(`unified (cgroup v2) resources are refused: this host's cgroups are ${layout.version}, not v2 only`);
    for (const [key, value] of unified) {
      if (!UNIFIED_KEY_RE.test(key) || key.includes('..'))
        throw invalidArgs(`invalid unified cgroup key "${key}": want <controller>.<file> of cpu, cpuset, memory, io, pids, hugetlb, rdma or misc`);
      const controller = key.slice(0, key.indexOf('.'));
      if (!layout.controllers.includes(controller)) throw invalidArgs(`invalid unified cgroup key "${key}": the ${controller} controller is not available`);
      if (/[\r\n]/.test(value) || value.length > 4096) throw invalidArgs(`invalid value of unified cgroup key "${key}"`);
    }
  }
}

let cpuCount: number | undefined;

/** The host's CPUs, counted once: os.cpus() reads /proc/cpuinfo, 0.7 ms a create on a busy host. */
export function hostCpuCount(): number {
  cpuCount ??= os.cpus().length;
  return cpuCount;
}

/** The most pids.max takes: the kernel refuses PID_MAX_LIMIT + 1 (4M on 64-bit) and above. */
const MAX_PIDS_LIMIT = 4 * 1024 * 1024;

/**
 * Values the kernel would refuse when the cgroups are written at start, refused before
 * (create and update) with iSulad's and Docker's messages: a container that cannot start
 * is never made.
 */
export function validateResourceValues(r: ResourceSpec): void {
  for (const [flag, value] of [
    ['cpu-shares', r.cpuShares],
    ['cpu-period', r.cpuPeriod],
    ['cpu-quota', r.cpuQuota],
    ['pids-limit', r.pidsLimit],
    ['files-limit', r.filesLimit],
  ] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) throw invalidArgs(`Invalid value ${value} for ${flag}`);
  }
  if (r.cpuShares !== undefined && r.cpuShares < 0) throw invalidArgs(`Invalid value ${r.cpuShares} for cpu-shares: must be 0 (the default) or more`);
  const cpus = hostCpuCount();
  // A CFS quota below 1 ms (0.01 CPUs of the 100 ms period --cpus uses) is refused by the kernel.
  if (r.nanoCpus !== undefined && (r.nanoCpus < 0 || (r.nanoCpus > 0 && r.nanoCpus < 1e7) || r.nanoCpus > cpus * 1e9)) {
    throw invalidArgs(`Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  }
  if (r.cpuPeriod && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000))
    throw invalidArgs('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)');
  if (r.cpuQuota && r.cpuQuota > 0 && r.cpuQuota < 1000) throw invalidArgs('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (r.pidsLimit !== undefined && r.pidsLimit > MAX_PIDS_LIMIT)
    throw invalidArgs(`Invalid value ${r.pidsLimit} for pids-limit: the kernel allows at most ${MAX_PIDS_LIMIT} (-1 for unlimited)`);
  validateCgroupExtras(r);
}
