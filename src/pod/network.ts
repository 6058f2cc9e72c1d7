import type { PodNetworkRequest } from '../network/types.js';

/**
 * What a pod needs of the network subsystem (src/network/, NET's contract in the CRI plan):
 * the daemon passes NET's functions and CniNetwork in; a daemon without a network plugin
 * passes none, and pods get a loopback-only network from the runtime.
 */
export type { PodNetworkRequest };

export interface PodCni {
  setUp(req: PodNetworkRequest): Promise<{ ips: string[] }>;
  /** Works from the plugin's cached result, after a restart or a half-failed ADD too. */
  tearDown(req: PodNetworkRequest): Promise<void>;
  /** The pods the plugin's cache has a network of: swept at start when no pod record names them. */
  cachedPods(): Promise<{ podId: string; ifName: string; netnsPath: string }[]>;
}

export interface PodNetworkPort {
  /** Makes the namespace's file before it first waits (the returned promise pins it there). */
  createNetns(id: string): Promise<string>;
  /** Where createNetns(id) pins the namespace. */
  netnsPath(id: string): string;
  removeNetns(path: string): Promise<void>;
  /** Every pinned namespace file, for the sweep at start. */
  pinnedNetns(): string[];
  /** Present when network-plugin is cni. */
  cni?: PodCni;
}
