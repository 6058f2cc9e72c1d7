import net from 'node:net';
import { invalidArgs } from '../../api/errors.js';
import { CgroupDriver, RuntimeService } from '../../api/cri/gen/api_pb.js';
import { criUnary, type CriHandler } from './handlers.js';

/** What the runtime methods report, from the daemon's configuration. */
export interface CriRuntimeFacts {
  engineVersion: string;
  /** The engine drives cgroups itself (no systemd driver), so kubelet must use cgroupfs. */
  cgroupDriver: 'cgroupfs';
  podSandboxImage: string;
  networkPlugin: string;
  cniBinDir: string;
  cniConfDir: string;
  criRuntimes: Record<string, string>;
  streamingPort: number;
}

/** CRI's Version: runtime name and version as iSulad reports them (kubelet logs them). */
const KUBE_API_VERSION = '0.1.0';
export const CRI_RUNTIME_NAME = 'iSulad';

/** A pod CIDR as kubelet sends it: an IPv4 or IPv6 prefix, or several joined by commas. */
export function checkPodCidr(text: string): void {
  for (const cidr of text.split(',')) {
    const [address = '', prefix, ...rest] = cidr.trim().split('/');
    const family = net.isIP(address);
    const bits = Number(prefix);
    if (family === 0 || rest.length > 0 || prefix === undefined || !/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) {
      throw invalidArgs(`invalid pod CIDR "${cidr}": want an address/prefix such as 10.88.0.0/16`);
    }
  }
}

/** The pod network as Status reports it and UpdateRuntimeConfig configures it (the CNI network). */
export interface CriNetworkStatus {
  status(): { ready: boolean; reason?: string; message?: string };
  setPodCidr(cidr: string): void;
}

function networkCondition(facts: CriRuntimeFacts, network: CriNetworkStatus | undefined) {
  if (!network) {
    return {
      type: 'NetworkReady',
      status: false,
      reason: 'NetworkPluginNotReady',
      message: 'network-plugin is not set: no pod network is configured (CNI not initialized)',
    };
  }
  const s = network.status();
  return {
    type: 'NetworkReady',
    status: s.ready,
    reason: s.ready ? '' : (s.reason ?? 'NetworkPluginNotReady'),
    message: s.message ?? (s.ready ? '' : `no usable CNI config in ${facts.cniConfDir}`),
  };
}

/** Version, Status, RuntimeConfig and UpdateRuntimeConfig: what the runtime is and how it is set up. */
export function criRuntimeService(facts: CriRuntimeFacts, network?: CriNetworkStatus): CriHandler[] {
  // Kubelet sends it at start and when the node's CIDR changes; CNI's host-local ranges use it.
  let podCidr = '';
  const method = RuntimeService.method;
  return [
    criUnary(method.version, async () => ({
      version: KUBE_API_VERSION,
      runtimeName: CRI_RUNTIME_NAME,
      runtimeVersion: facts.engineVersion,
      runtimeApiVersion: 'v1',
    })),
    criUnary(method.status, async (request) => ({
      status: {
        conditions: [{ type: 'RuntimeReady', status: true }, networkCondition(facts, network)],
      },
      runtimeHandlers: ['', ...Object.keys(facts.criRuntimes)].map((name) => ({ name, features: {} })),
      features: {},
      // crictl info reads every value as JSON.
      info: (request.verbose
        ? {
            config: JSON.stringify({
              podSandboxImage: facts.podSandboxImage,
              networkPlugin: facts.networkPlugin,
              cniBinDir: facts.cniBinDir,
              cniConfDir: facts.cniConfDir,
              criRuntimes: facts.criRuntimes,
              streamingServerPort: facts.streamingPort,
              cgroupDriver: facts.cgroupDriver,
              podCIDR: podCidr,
            }),
          }
        : {}) as Record<string, string>,
    })),
    criUnary(method.runtimeConfig, async () => ({ linux: { cgroupDriver: CgroupDriver.CGROUPFS } })),
    criUnary(method.updateRuntimeConfig, async (request) => {
      const cidr = request.runtimeConfig?.networkConfig?.podCidr ?? '';
      if (cidr !== '') checkPodCidr(cidr);
      podCidr = cidr;
      network?.setPodCidr(cidr);
      return {};
    }),
  ];
}
