/** CRI's LinuxContainerResources and the engine's ResourceSpec, both ways. */
import type { LinuxContainerResources } from '../../api/cri/gen/api_pb.js';
import type { ResourceSpec } from '../../api/containers.js';

/** CRI's resources as the engine's (0 is "not set" in CRI). */
export function resourcesOf(r: LinuxContainerResources | undefined): ResourceSpec {
  if (!r) return {};
  const n = (v: bigint): number | undefined => (v > 0n ? Number(v) : undefined);
  const spec: ResourceSpec = {};
  const set = <K extends keyof ResourceSpec>(key: K, value: ResourceSpec[K] | undefined): void => {
    if (value !== undefined && value !== '') spec[key] = value;
  };
  set('cpuPeriod', n(r.cpuPeriod));
  set('cpuQuota', n(r.cpuQuota));
  set('cpuShares', n(r.cpuShares));
  set('memory', n(r.memoryLimitInBytes));
  set('memorySwap', r.memorySwapLimitInBytes !== 0n ? Number(r.memorySwapLimitInBytes) : undefined);
  set('cpusetCpus', r.cpusetCpus);
  set('cpusetMems', r.cpusetMems);
  if (r.hugepageLimits.length > 0) spec.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: Number(h.limit) }));
  if (Object.keys(r.unified).length > 0) spec.unified = { ...r.unified };
  return spec;
}

/** The engine's resources in CRI's shape, for ContainerStatus.resources. */
export function criResourcesOf(r: ResourceSpec) {
  return {
    cpuPeriod: BigInt(r.cpuPeriod ?? 0),
    cpuQuota: BigInt(r.cpuQuota ?? 0),
    cpuShares: BigInt(r.cpuShares ?? 0),
    memoryLimitInBytes: BigInt(r.memory ?? 0),
    cpusetCpus: r.cpusetCpus ?? '',
    cpusetMems: r.cpusetMems ?? '',
    memorySwapLimitInBytes: BigInt(r.memorySwap ?? 0),
    hugepageLimits: (r.hugepageLimits ?? []).map((h) => ({ pageSize: h.pageSize, limit: BigInt(h.limit) })),
    unified: { ...r.unified },
  };
}
