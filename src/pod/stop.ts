import { setImmediate as nextTurn } from 'node:timers/promises';
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
  // Answered before the record is written (the store keeps the pod's writes in order, so a
  // remove's delete comes after it). A record lost to a kill or a power cut still says ready
  // and attached: the pause is gone, so the pod reads NOTREADY, and the next stop DELs again,
  // which CNI makes harmless (host-local releases by container id, bridge and portmap remove
  // what is left).
  pc.store.save(pod).catch((e: Error) => pc.log.error(`pod ${pod.id}: saving its stopped state: ${e.message}`));
}

/**
 * RemovePodSandbox: its containers and pause removed as `rm -f` removes them (killed; one that
 * does not die, stuck in D or a zombie nobody reaps, handed to the garbage collector) while CNI
 * DELs, then the netns unpinned (no process of the pod is left in it) and the record deleted.
 * Kubelet has stopped the pod already; a stop that waited here would wait on stuck processes.
 */
export function removePod(pc: PodContext, pod: PodRecord): Promise<void> {
  return pc.locks.run(pod.id, async () => {
    if (!pc.store.find(pod.id)) return;
    const containers = async (): Promise<void> => {
      await Promise.all(podContainers(pc, pod.id).map((c) => removeContainer(pc.engine, c, true, { later: nextTurn })));
      const pause = pc.engine.store.find(pod.id);
      if (pause) await removeContainer(pc.engine, pause, true, { later: nextTurn });
    };
    const attached = pod.networkAttached;
    const [removed, detached] = await Promise.allSettled([containers(), attached ? pc.network?.cni?.tearDown(networkRequest(pod)) : undefined]);
    if (detached.status === 'rejected' || removed.status === 'rejected') {
      if (attached && detached.status === 'fulfilled') {
        pod.networkAttached = false;
        await pc.store.save(pod);
      }
      throw removed.status === 'rejected' ? removed.reason : (detached as PromiseRejectedResult).reason;
    }
    if (pod.netnsPath) await pc.network?.removeNetns(pod.netnsPath);
    await pc.store.delete(pod.id);
  });
}
