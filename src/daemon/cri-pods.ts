import fs from 'node:fs';
import path from 'node:path';
import { invalidArgs } from '../api/errors.js';
import type { EngineContext } from '../container/context.js';
import type { OciImages } from '../image/oci/verbs.js';
import { CniNetwork, createNetns, netnsDir, removeNetns } from '../network/index.js';
import type { PodContext } from '../pod/context.js';
import { PodLocks } from '../pod/locks.js';
import { restorePods } from '../pod/restore.js';
import { PodStore } from '../pod/store.js';
import { podStreamingBackend } from '../pod/streams.js';
import { StreamingServer } from '../streaming/index.js';
import type { Logger } from '../sys/log.js';
import type { DaemonConfig } from './config/config.js';

/** The CRI runtime's parts: pods, their network, the streaming server. */
export interface CriParts {
  pods: PodContext;
  cni: CniNetwork | undefined;
  streaming: StreamingServer;
  close(): Promise<void>;
}

/**
 * Wires the pod domain from the daemon's config, restores the pods from their records (after
 * the containers: a pod's pause and containers must be known first) and starts the streaming
 * server on 127.0.0.1 (kubelet reaches it on the node; nothing else should).
 */
export async function openCri(config: DaemonConfig, engine: EngineContext, images: OciImages | undefined, log: Logger): Promise<CriParts> {
  const cni =
    config.networkPlugin === 'cni'
      ? new CniNetwork({
          confDir: config.cniConfDir,
          binDirs: config.cniBinDir.split(',').filter(Boolean),
          cacheDir: path.join(config.graph, 'cni'),
          log: log.child('cni'),
        })
      : undefined;
  const pods: PodContext = {
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
    repoDigestOf: (imageId) => (imageId === '' ? undefined : images?.find(imageId)?.repoDigests[0]),
    runtimeFor: (handler) => {
      if (handler === '') return config.defaultRuntime;
      const runtime = config.criRuntimes[handler];
      if (runtime === undefined)
        throw invalidArgs(`unknown runtime handler "${handler}": cri-runtimes names ${Object.keys(config.criRuntimes).join(', ') || 'none'}`);
      return runtime;
    },
    // Every pod not on the host's network gets a pinned namespace with lo up; CNI adds eth0.
    network: {
      createNetns: (id) => createNetns(id, config.state),
      netnsPath: (id) => path.join(netnsDir(config.state), id),
      removeNetns,
      pinnedNetns: () => {
        try {
          return fs.readdirSync(netnsDir(config.state)).map((n) => path.join(netnsDir(config.state), n));
        } catch {
          return [];
        }
      },
      ...(cni ? { cni } : {}),
    },
    log: log.child('pod'),
  };
  for (const [handler, runtime] of Object.entries(config.criRuntimes)) {
    if (!engine.runtimes.find(runtime))
      log.warn(`cri-runtimes: handler "${handler}" names runtime "${runtime}", which this daemon does not have; pods asking for it will not start`);
  }
  const count = await restorePods(pods);
  log.info(`restored ${count} pod(s)`);
  const streaming = new StreamingServer({ host: '127.0.0.1', port: config.websocketPort, log: log.child('streaming'), backend: podStreamingBackend(pods) });
  // A taken port costs exec, attach and port-forward, not the pods: the daemon serves on.
  await streaming.start().catch((e: Error) => log.error(`CRI streaming server not started on 127.0.0.1:${config.websocketPort}: ${e.message}`));
  return { pods, cni, streaming, close: () => streaming.stop() };
}
