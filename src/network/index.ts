/*
 * The network subsystem's surface for pod/: pod network namespaces and the CNI network.
 * Nothing here imports container/, services/ or daemon/.
 */
export { CniNetwork, type CniNetworkOptions } from './cni.js';
export { createNetns, removeNetns, netnsDir } from './netns.js';
export type { NetworkStatus, PodInterface, PodNetworkRequest, PodNetworkResult, PortMapping } from './types.js';
