import os from 'node:os';
import type { HostFacts } from '../api/system.js';

let cached: Promise<HostFacts> | undefined;

/** Host facts from systeminformation, gathered once: they do not change while the daemon runs. */
export function hostFacts(): Promise<HostFacts> {
  cached ??= (async () => {
    const si = await import('systeminformation');
    const [cpu, mem, osInfo] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
    return {
      cpus: cpu.cores || os.cpus().length,
      cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').trim() || 'unknown',
      memTotalBytes: mem.total,
      operatingSystem: osInfo.distro || osInfo.platform,
      osVersion: osInfo.release,
      kernelVersion: osInfo.kernel || os.release(),
      architecture: os.machine(),
      hostname: osInfo.hostname || os.hostname(),
    };
  })();
  return cached;
}
