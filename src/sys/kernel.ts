import fs from 'node:fs';
import path from 'node:path';
import type { CgroupLayout } from './cgroup/mounts.js';

/** What the engine needs from the kernel and can do without, each checked once at start. */
export interface KernelFeatureSet {
  overlay: boolean;
  squashfs: boolean;
  loop: boolean;
  userNamespaces: boolean;
  freezer: boolean;
  pids: boolean;
  memory: boolean;
  /** v1's memory.memsw.* (swap accounting); v2 always has memory.swap.max with the memory controller. */
  memsw: boolean;
  cpu: boolean;
  cpuset: boolean;
  /** openEuler's files cgroup, behind --files-limit. */
  files: boolean;
}

function filesystems(): string[] {
  try {
    return fs
      .readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop() ?? '');
  } catch {
    return [];
  }
}

/** The running kernel's modules.dep: a module listed there but not loaded yet still counts, since mount(2) and losetup load it on use. */
function moduleList(): string {
  try {
    const release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    return fs.readFileSync(`/lib/modules/${release}/modules.dep`, 'utf8');
  } catch {
    return '';
  }
}

function swapAccounting(cgroups: CgroupLayout): boolean {
  if (cgroups.version === 'v2') return cgroups.controllers.includes('memory');
  const memory = cgroups.mounts.find((m) => m.version === 1 && m.controllers.includes('memory'));
  return memory !== undefined && fs.existsSync(path.join(memory.path, 'memory.memsw.limit_in_bytes'));
}

export function detectKernelFeatures(cgroups: CgroupLayout): KernelFeatureSet {
  const fss = filesystems();
  const modules = moduleList();
  const moduleAvailable = (name: string): boolean => modules.includes(`/${name}.ko`);
  const hasFs = (name: string): boolean => fss.includes(name) || moduleAvailable(name);
  const controller = (name: string): boolean => cgroups.controllers.includes(name);
  return {
    overlay: hasFs('overlay'),
    squashfs: hasFs('squashfs'),
    loop: fs.existsSync('/dev/loop-control') || moduleAvailable('loop'),
    userNamespaces: fs.existsSync('/proc/self/ns/user'),
    // v2 freezes through cgroup.freeze in every cgroup, with no controller to enable.
    freezer: controller('freezer') || cgroups.version === 'v2',
    pids: controller('pids'),
    memory: controller('memory'),
    memsw: swapAccounting(cgroups),
    cpu: controller('cpu'),
    cpuset: controller('cpuset'),
    files: controller('files'),
  };
}

/** One line per missing feature, saying what the engine does instead. */
export function kernelDegradations(k: KernelFeatureSet): string[] {
  const lines: string[] = [];
  const say = (missing: boolean, text: string): void => {
    if (missing) lines.push(text);
  };
  say(!k.overlay, 'no overlay filesystem: the overlay2 storage driver falls back to vfs (copying)');
  say(!k.squashfs, 'no squashfs filesystem: embedded images with squashfs layers and squashfs mounts are refused');
  say(!k.loop, 'no loop devices: embedded images with squashfs layers and squashfs mounts are refused');
  say(!k.freezer, 'no cgroup freezer: pause is refused');
  say(!k.pids, 'no pids cgroup: --pids-limit is refused');
  say(!k.memory, 'no memory cgroup: --memory and --memory-swap are refused');
  say(k.memory && !k.memsw, 'no swap accounting: --memory-swap is refused');
  say(!k.cpu, 'no cpu cgroup: --cpu-shares, --cpu-period, --cpu-quota and --cpus are refused');
  say(!k.cpuset, 'no cpuset cgroup: --cpuset-cpus and --cpuset-mems are refused');
  return lines;
}

/**
 * The storage driver the daemon reports and will use: overlay2 needs the overlay filesystem,
 * so without it the copying driver, vfs, takes its place (iSulad would refuse to start).
 */
export function effectiveStorageDriver(configured: string, k: KernelFeatureSet): string {
  return configured === 'overlay2' && !k.overlay ? 'vfs' : configured;
}
