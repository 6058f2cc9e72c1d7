import fs from 'node:fs';
import type { ResourceSpec } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import { validateResourceValues } from '../container/resources.js';
import { cgroupSettings } from '../runtime/lxc/config.js';
import { controllerDir, isCgroupV2Only, writeCgroupFile } from '../sys/cgroup/tree.js';
import type { PodConfig } from './record.js';

const add = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));

/**
 * The pod cgroup's limits: the pod's resources (its containers' sum, as kubelet computes them)
 * plus the sandbox's overhead. CPU quotas are added at the pod's period.
 */
export function podLimits(config: PodConfig): ResourceSpec | undefined {
  const r = config.resources ?? {};
  const o = config.overhead ?? {};
  if (!config.resources && !config.overhead) return undefined;
  const period = r.cpuPeriod ?? o.cpuPeriod ?? 100_000;
  const quota = (q: ResourceSpec): number | undefined => (q.cpuQuota ? Math.round((q.cpuQuota * period) / (q.cpuPeriod ?? 100_000)) : undefined);
  const limits: ResourceSpec = {};
  const memory = add(r.memory, o.memory);
  const shares = add(r.cpuShares, o.cpuShares);
  const cpuQuota = add(quota(r), quota(o));
  if (memory) limits.memory = memory;
  if (shares) limits.cpuShares = shares;
  if (cpuQuota) {
    limits.cpuQuota = cpuQuota;
    limits.cpuPeriod = period;
  }
  const hugepages = [...(r.hugepageLimits ?? []), ...(o.hugepageLimits ?? [])];
  if (hugepages.length > 0) {
    const sums = new Map<string, number>();
    for (const h of hugepages) sums.set(h.pageSize, (sums.get(h.pageSize) ?? 0) + h.limit);
    limits.hugepageLimits = [...sums].map(([pageSize, limit]) => ({ pageSize, limit }));
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/**
 * Writes the pod's limits to its cgroup parent (kubelet's pod cgroup, made here when a client
 * such as crictl has not), so its containers together stay inside them. A pod with limits and
 * no cgroup parent has no cgroup of its own to limit: refused.
 */
export function applyPodLimits(config: PodConfig): void {
  const limits = podLimits(config);
  if (!limits) return;
  const parent = config.cgroupParent.replace(/^\/+|\/+$/g, '');
  if (parent === '' || parent.split('/').includes('..'))
    throw invalidArgs('pod sandbox resources/overhead need linux.cgroup_parent: the pod cgroup their limits are written to');
  validateResourceValues(limits);
  for (const { controller, key, value } of cgroupSettings(limits, isCgroupV2Only())) {
    const dir = controllerDir(parent, controller);
    if (!dir) throw invalidArgs(`pod sandbox resources: no ${controller} cgroup on this host`);
    fs.mkdirSync(dir, { recursive: true });
    writeCgroupFile(dir, `${controller}.${key}`, value);
  }
}
