import os from 'node:os';
import type { ResourceSpec } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';

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
  const cpus = os.cpus().length;
  // A CFS quota below 1 ms (0.01 CPUs of the 100 ms period --cpus uses) is refused by the kernel.
  if (r.nanoCpus !== undefined && (r.nanoCpus < 0 || (r.nanoCpus > 0 && r.nanoCpus < 1e7) || r.nanoCpus > cpus * 1e9)) {
    throw invalidArgs(`Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  }
  if (r.cpuPeriod && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000))
    throw invalidArgs('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. 1000000)');
  if (r.cpuQuota && r.cpuQuota > 0 && r.cpuQuota < 1000) throw invalidArgs('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (r.pidsLimit !== undefined && r.pidsLimit > MAX_PIDS_LIMIT)
    throw invalidArgs(`Invalid value ${r.pidsLimit} for pids-limit: the kernel allows at most ${MAX_PIDS_LIMIT} (-1 for unlimited)`);
}
