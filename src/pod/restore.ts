import { removeContainer } from '../container/remove.js';
import type { PodContext } from './context.js';
import { LABEL_SANDBOX_ID, LABEL_TYPE, TYPE_CONTAINER, TYPE_SANDBOX, type PodRecord } from './record.js';

/**
 * At daemon start, after the containers are restored: the pods from their records. A pause
 * (or a pod's container) whose pod has no record is what a RunPodSandbox or RemovePodSandbox
 * the daemon died in left behind; it is removed. A pod whose pause is gone stays, NOTREADY,
 * for kubelet to stop and remove (which DELs its network from the CNI cache).
 */
export async function restorePods(pc: PodContext): Promise<number> {
  const { loaded, broken } = pc.store.load(pc.log);
  for (const id of broken) await pc.store.delete(id);
  const known = new Set(loaded.map((p) => p.id));
  for (const c of pc.engine.store.all()) {
    const labels = c.record.config.Config.Labels;
    const orphan =
      (labels[LABEL_TYPE] === TYPE_SANDBOX && !known.has(c.id)) || (labels[LABEL_TYPE] === TYPE_CONTAINER && !known.has(labels[LABEL_SANDBOX_ID] ?? ''));
    if (!orphan) continue;
    pc.log.warn(`removing container ${c.id} of a pod that has no record`);
    await removeContainer(pc.engine, c, true).catch((e: Error) => pc.log.error(`removing ${c.id}: ${e.message}`));
  }
  await sweepNetworks(pc, loaded);
  return loaded.length;
}

/**
 * What no pod record names is what a RunPodSandbox the daemon died in made before its record
 * (the netns is pinned while the pause is created), or a record that could not be read left:
 * CNI networks in the plugins' cache are DELed, pinned namespaces unpinned and removed.
 */
async function sweepNetworks(pc: PodContext, pods: PodRecord[]): Promise<void> {
  const net = pc.network;
  if (!net) return;
  const known = new Set(pods.map((p) => p.id));
  for (const cached of (await net.cni?.cachedPods()) ?? []) {
    // Pods' networks are all on eth0 (networkRequest).
    if (known.has(cached.podId) || cached.ifName !== 'eth0') continue;
    pc.log.warn(`deleting the network of pod ${cached.podId}, which has no record`);
    await net.cni
      ?.tearDown({ podId: cached.podId, podName: '', podNamespace: '', podUid: '', netnsPath: cached.netnsPath, ifName: 'eth0', portMappings: [] })
      .catch((e: Error) => pc.log.error(`deleting the network of pod ${cached.podId}: ${e.message}`));
  }
  const pinned = new Set(pods.flatMap((p) => (p.netnsPath ? [p.netnsPath] : [])));
  for (const file of net.pinnedNetns()) {
    if (pinned.has(file)) continue;
    pc.log.warn(`removing network namespace ${file}, which no pod record names`);
    await net.removeNetns(file).catch((e: Error) => pc.log.error(`removing ${file}: ${e.message}`));
  }
}
