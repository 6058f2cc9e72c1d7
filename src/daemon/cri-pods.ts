import path from 'node:path';
import { invalidArgs } from '../api/errors.js';
import type { EngineContext } from '../container/context.js';
import type { OciImages } from '../image/oci/verbs.js';
import { PodLocks, type PodContext } from '../pod/context.js';
import type { PodNetworkPort } from '../pod/network.js';
import { restorePods } from '../pod/restore.js';
import { PodStore } from '../pod/store.js';
import type { Logger } from '../sys/log.js';
import type { DaemonConfig } from './config/config.js';

/**
 * The pod domain's context, wired from the daemon's config, and the pods restored from their
 * records (after the containers: a pod's pause and containers must be known first).
 */
export async function openPods(
  config: DaemonConfig,
  engine: EngineContext,
  images: OciImages | undefined,
  log: Logger,
  network?: PodNetworkPort,
): Promise<PodContext> {
  const pc: PodContext = {
    engine,
    store: new PodStore(path.join(config.graph, 'pods')),
    locks: new PodLocks(),
    sandboxImage: config.podSandboxImage,
    ensureImage: async (ref, signal) => {
      if (!images) throw invalidArgs(`pod sandbox image ${ref}: this daemon has no OCI image store`);
      if (images.find(ref)) return;
      log.info(`pulling the pod sandbox image ${ref}`);
      await images.pull(ref, undefined, signal, () => undefined);
    },
    runtimeFor: (handler) => {
      if (handler === '') return config.defaultRuntime;
      const runtime = config.criRuntimes[handler];
      if (runtime === undefined)
        throw invalidArgs(`unknown runtime handler "${handler}": cri-runtimes names ${Object.keys(config.criRuntimes).join(', ') || 'none'}`);
      return runtime;
    },
    ...(network ? { network } : {}),
    log,
  };
  const count = await restorePods(pc);
  log.info(`restored ${count} pod(s)`);
  return pc;
}
