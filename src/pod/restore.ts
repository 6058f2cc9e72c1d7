import { removeContainer } from '../container/remove.js';
import type { PodContext } from './context.js';
import { LABEL_SANDBOX_ID, LABEL_TYPE, TYPE_CONTAINER, TYPE_SANDBOX } from './record.js';

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
  return loaded.length;
}
