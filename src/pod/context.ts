import type { EngineContext } from '../container/context.js';
import type { Logger } from '../sys/log.js';
import type { PodLocks } from './locks.js';
import type { PodNetworkPort } from './network.js';
import type { PodStore } from './store.js';

/** What the pod verbs work with, wired by the daemon. */
export interface PodContext {
  engine: EngineContext;
  store: PodStore;
  locks: PodLocks;
  /** pod-sandbox-image. */
  sandboxImage: string;
  /** Pulls the image when the store lacks it. */
  ensureImage(ref: string, signal: AbortSignal): Promise<void>;
  /** The image's first repo digest (`repo@sha256:…`), if the store has the image and it has one. */
  repoDigestOf(imageId: string): string | undefined;
  /** The engine runtime a CRI runtime handler names (cri-runtimes); an unknown one is an error naming it. */
  runtimeFor(handler: string): string;
  network?: PodNetworkPort;
  log: Logger;
}
