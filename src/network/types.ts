/** One hostPort → containerPort mapping of a pod, handed to plugins with the `portMappings` capability. */
export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** '' or '0.0.0.0' for every address of the host. */
  hostIp: string;
}

/** What the pod layer asks of the network for one sandbox. */
export interface PodNetworkRequest {
  /** The sandbox id: CNI_CONTAINERID and the key of the result cache. */
  podId: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  /** The sandbox's netns file (createNetns); on teardown it may be gone already. */
  netnsPath: string;
  ifName: 'eth0';
  portMappings: PortMapping[];
}

export interface PodInterface {
  name: string;
  mac?: string;
  /** The netns path for an interface inside the pod; absent for host-side ones (bridge, veth peer). */
  sandbox?: string;
}

export interface PodNetworkResult {
  /** The pod's addresses without prefix length, IPv4 first (CRI PodSandboxNetworkStatus.ip, additional_ips). */
  ips: string[];
  interfaces: PodInterface[];
  /** The last plugin's result as it printed it (cniVersion of the config). */
  raw: unknown;
}

export interface NetworkStatus {
  ready: boolean;
  /** 'NetworkPluginNotReady' when not ready (the CRI RuntimeCondition reason). */
  reason?: string;
  message?: string;
}
