import fs from 'node:fs';
import { hostCgroups } from './cgroup/mounts.js';

export interface KernelFeatureSet {
  overlay: boolean;
  squashfs: boolean;
  loop: boolean;
  userNamespaces: boolean;
  freezer: boolean;
  pids: boolean;
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

/** A module that is not loaded yet but can be, still counts: the engine modprobes on use. */
function moduleAvailable(name: string): boolean {
  try {
    const release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    return fs.readFileSync(`/lib/modules/${release}/modules.dep`, 'utf8').includes(`/${name}.ko`);
  } catch {
    return false;
  }
}

export function detectKernelFeatures(): KernelFeatureSet {
  const fss = filesystems();
  const cg = hostCgroups();
  const hasFs = (name: string): boolean => fss.includes(name) || moduleAvailable(name);
  return {
    overlay: hasFs('overlay'),
    squashfs: hasFs('squashfs'),
    loop: fs.existsSync('/dev/loop-control') || moduleAvailable('loop'),
    userNamespaces: fs.existsSync('/proc/self/ns/user'),
    freezer: cg.controllers.includes('freezer') || cg.version === 'v2',
    pids: cg.controllers.includes('pids'),
  };
}
