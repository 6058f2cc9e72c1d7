import { controllerDir, isCgroupV2Only, readCgroupFile } from './tree.js';

/** What CRI's stats report of one cgroup; a value the host does not give is undefined. */
export interface CgroupUsage {
  cpuNanos?: bigint;
  memoryUsage?: bigint;
  /** Usage less inactive file pages: what kubelet evicts on (cAdvisor's working set). */
  workingSet?: bigint;
  rss?: bigint;
  pageFaults?: bigint;
  majorPageFaults?: bigint;
}

function statKeys(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

const num = (text: string | undefined): bigint | undefined => (text && /^\d+$/.test(text) ? BigInt(text) : undefined);

/** CPU and memory of cgroup `rel` (e.g. isulad/<id>), cgroup v1 or v2. */
export function cgroupUsage(rel: string): CgroupUsage {
  const v2 = isCgroupV2Only();
  const cpuDir = controllerDir(rel, v2 ? 'cpu' : 'cpuacct');
  const memDir = controllerDir(rel, 'memory');
  const usage: CgroupUsage = {};
  if (cpuDir) {
    if (v2) {
      const usec = statKeys(readCgroupFile(cpuDir, 'cpu.stat')).get('usage_usec');
      if (usec !== undefined) usage.cpuNanos = usec * 1000n;
    } else {
      const ns = num(readCgroupFile(cpuDir, 'cpuacct.usage'));
      if (ns !== undefined) usage.cpuNanos = ns;
    }
  }
  if (memDir) {
    const stat = statKeys(readCgroupFile(memDir, 'memory.stat'));
    const current = num(readCgroupFile(memDir, v2 ? 'memory.current' : 'memory.usage_in_bytes'));
    if (current !== undefined) {
      usage.memoryUsage = current;
      const inactive = stat.get(v2 ? 'inactive_file' : 'total_inactive_file') ?? 0n;
      usage.workingSet = current > inactive ? current - inactive : 0n;
    }
    const rss = stat.get(v2 ? 'anon' : 'total_rss');
    if (rss !== undefined) usage.rss = rss;
    const faults = stat.get(v2 ? 'pgfault' : 'total_pgfault');
    if (faults !== undefined) usage.pageFaults = faults;
    const major = stat.get(v2 ? 'pgmajfault' : 'total_pgmajfault');
    if (major !== undefined) usage.majorPageFaults = major;
  }
  return usage;
}
