import { setTimeout as sleep } from 'node:timers/promises';
import { controllerDir, isCgroupV2Only, readCgroupFile, writeCgroupFile } from './tree.js';

/** Freezes or thaws cgroup `rel` and waits until the kernel says it is done. */
export async function setFrozen(rel: string, frozen: boolean, timeoutMs = 5000): Promise<void> {
  const dir = controllerDir(rel, 'freezer');
  if (!dir) throw new Error('no freezer cgroup on this host');
  const v2 = isCgroupV2Only();
  if (v2) writeCgroupFile(dir, 'cgroup.freeze', frozen ? '1' : '0');
  else writeCgroupFile(dir, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (isFrozen(rel) === frozen) return;
    if (Date.now() > deadline) throw new Error(`cgroup ${rel} did not become ${frozen ? 'frozen' : 'thawed'} in time`);
    // v1 FREEZING settles as the kernel reaches each task; it takes a few ms.
    await sleep(delay);
  }
}

/** Asks for a freeze or thaw without waiting: the collector must never block on one. */
export function setFrozenNoWait(rel: string, frozen: boolean): void {
  const dir = controllerDir(rel, 'freezer');
  if (!dir) return;
  try {
    if (isCgroupV2Only()) writeCgroupFile(dir, 'cgroup.freeze', frozen ? '1' : '0');
    else writeCgroupFile(dir, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
  } catch {
    // the cgroup went away meanwhile
  }
}

/** True when frozen; FREEZING counts as not yet. */
export function isFrozen(rel: string): boolean {
  const dir = controllerDir(rel, 'freezer');
  if (!dir) return false;
  if (isCgroupV2Only()) return /\bfrozen 1\b/.test(readCgroupFile(dir, 'cgroup.events') ?? '');
  return readCgroupFile(dir, 'freezer.state') === 'FROZEN';
}

/** Frozen, or on its way (v1 FREEZING): either way SIGKILL will not land until thawed. */
export function isFreezingOrFrozen(rel: string): boolean {
  const dir = controllerDir(rel, 'freezer');
  if (!dir) return false;
  if (isCgroupV2Only()) return readCgroupFile(dir, 'cgroup.freeze') === '1';
  const state = readCgroupFile(dir, 'freezer.state');
  return state === 'FROZEN' || state === 'FREEZING';
}
