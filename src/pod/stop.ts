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
 * period, as containerd assumes), the pause stopped, CNI DEL. The network namespace stays
 * until the pod is removed, as containerd keeps it. Idempotent.
 */
export function stopPod(pc: PodContext, pod: PodRecord): Promise<void> {
  return pc.locks.run(pod.id, () => stopLocked(pc, pod));
}

async function stopLocked(pc: PodContext, pod: PodRecord): Promise<void> {
  await Promise.all(podContainers(pc, pod.id).map((c) => stopContainer(pc.engine, c, 0)));
  const pause = pc.engine.store.find(pod.id);
  if (pause) await stopContainer(pc.engine, pause, PAUSE_STOP_SECONDS);
  if (pod.networkAttached) {
    await pc.network?.cni?.tearDown(networkRequest(pod));
    pod.networkAttached = false;
  }
  pod.ips = [];
  pod.state = 'notready';
  await pc.store.save(pod);
}

/** RemovePodSandbox: stopped first if it is not, then its containers, pause, netns and record go. */
export function removePod(pc: PodContext, pod: PodRecord): Promise<void> {
  return pc.locks.run(pod.id, async () => {
    if (!pc.store.find(pod.id)) return;
    await stopLocked(pc, pod);
    for (const c of podContainers(pc, pod.id)) await removeContainer(pc.engine, c, true);
    const pause = pc.engine.store.find(pod.id);
    if (pause) await removeContainer(pc.engine, pause, true);
    if (pod.netnsPath) await pc.network?.removeNetns(pod.netnsPath);
    await pc.store.delete(pod.id);
  });
}
