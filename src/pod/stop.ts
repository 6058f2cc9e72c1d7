import { removeContainer } from '../container/remove.js';
import { stopContainer } from '../container/stop.js';
import type { PodContext } from './context.js';
import { podContainers } from './containers.js';
import { networkRequest } from './run.js';
import type { PodRecord } from './record.js';

/** The pause's stop timeout: it exits at SIGTERM at once, a stuck one is killed soon. */
const PAUSE_STOP_SECONDS = 2;

/**
 * StopPodSandbox: its containers killed (kubelet has already stopped them with their grace
 * period, as containerd assumes), then the pause stopped while CNI DELs (containerd DELs
 * before it stops the pause: the namespace, pinned, outlives both). The network namespace
 * stays until the pod is removed, as containerd keeps it. Idempotent: a pod already stopped
 * is not written again.
 */
export function stopPod(pc: PodContext, pod: PodRecord): Promise<void> {
  return pc.locks.run(pod.id, () => stopLocked(pc, pod));
}

async function stopLocked(pc: PodContext, pod: PodRecord): Promise<void> {
  await Promise.all(podContainers(pc, pod.id).map((c) => stopContainer(pc.engine, c, 0)));
  const pause = pc.engine.store.find(pod.id);
  const attached = pod.networkAttached;
  const [stopped, detached] = await Promise.allSettled([
    pause ? stopContainer(pc.engine, pause, PAUSE_STOP_SECONDS) : undefined,
    attached ? pc.network?.cni?.tearDown(networkRequest(pod)) : undefined,
  ]);
  if (detached.status === 'fulfilled') pod.networkAttached = false;
  if (stopped.status === 'rejected' || detached.status === 'rejected') {
    // What did change is kept: a DEL that passed is not run again.
    if (attached && !pod.networkAttached) await pc.store.save(pod);
    throw stopped.status === 'rejected' ? stopped.reason : (detached as PromiseRejectedResult).reason;
  }
  if (pod.state === 'notready' && !attached && pod.ips.length === 0) return;
  pod.ips = [];
  pod.state = 'notready';
  await pc.store.save(pod);
}

/**
 * RemovePodSandbox: stopped first if it is not, then its containers and pause go while the
 * netns is unpinned (no process of the pod is left in it), then the record.
 */
export function removePod(pc: PodContext, pod: PodRecord): Promise<void> {
  return pc.locks.run(pod.id, async () => {
    if (!pc.store.find(pod.id)) return;
    await stopLocked(pc, pod);
    const containers = async (): Promise<void> => {
      for (const c of podContainers(pc, pod.id)) await removeContainer(pc.engine, c, true, { later: true });
      const pause = pc.engine.store.find(pod.id);
      if (pause) await removeContainer(pc.engine, pause, true, { later: true });
    };
    const removed = await Promise.allSettled([containers(), pod.netnsPath ? pc.network?.removeNetns(pod.netnsPath) : undefined]);
    for (const r of removed) if (r.status === 'rejected') throw r.reason;
    await pc.store.delete(pod.id);
  });
}
