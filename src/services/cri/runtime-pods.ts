/**
 * CRI's pod sandbox methods on the pod domain (src/pod/): RunPodSandbox, StopPodSandbox,
 * RemovePodSandbox, PodSandboxStatus, ListPodSandbox. Only translation lives here.
 */
import { NamespaceMode, PodSandboxState, Protocol, RuntimeService, type PodSandboxConfig, type PodSandboxStatus } from '../../api/cri/gen/api_pb.js';
import { invalidArgs, notFound } from '../../api/errors.js';
import { podLimits } from '../../pod/cgroup.js';
import type { PodContext } from '../../pod/context.js';
import { podContainers } from '../../pod/containers.js';
import { LABEL_TYPE, TYPE_CONTAINER, type PodConfig, type PodRecord } from '../../pod/record.js';
import { runPod } from '../../pod/run.js';
import { removePod, stopPod } from '../../pod/stop.js';
import { criUnary, type CriHandler } from './handlers.js';
import { resourcesOf } from './resources.js';
import { apparmorOf, checkUserns, podSysctls, seccompOf } from './security.js';
import type { StreamingLookup } from './streaming.js';

const PROTOCOLS = { [Protocol.TCP]: 'tcp', [Protocol.UDP]: 'udp', [Protocol.SCTP]: 'sctp' } as const;

/** RunPodSandbox's config as the pod domain keeps it. */
export function podConfigOf(config: PodSandboxConfig | undefined, runtimeHandler: string): PodConfig {
  if (!config?.metadata) throw invalidArgs('pod sandbox config must have metadata');
  const linux = config.linux;
  const nsOptions = linux?.securityContext?.namespaceOptions;
  const pidMode = nsOptions?.pid ?? NamespaceMode.POD;
  if (pidMode === NamespaceMode.TARGET) throw invalidArgs('pid namespace mode TARGET is not valid for a pod sandbox');
  checkUserns('pod sandbox namespace_options', nsOptions);
  const sc = linux?.securityContext;
  const hostNetwork = nsOptions?.network === NamespaceMode.NODE;
  const hostIpc = nsOptions?.ipc === NamespaceMode.NODE;
  const seccompProfile = seccompOf('pod sandbox seccomp', sc?.seccomp, sc?.seccompProfilePath ?? '');
  const apparmorProfile = apparmorOf('pod sandbox apparmor', sc?.apparmor, '');
  const resources = linux?.resources ? resourcesOf(linux.resources) : undefined;
  const overhead = linux?.overhead ? resourcesOf(linux.overhead) : undefined;
  return {
    name: config.metadata.name,
    uid: config.metadata.uid,
    namespace: config.metadata.namespace,
    attempt: config.metadata.attempt,
    hostname: config.hostname,
    logDirectory: config.logDirectory,
    ...(config.dnsConfig ? { dns: { servers: config.dnsConfig.servers, searches: config.dnsConfig.searches, options: config.dnsConfig.options } } : {}),
    portMappings: config.portMappings.map((p) => {
      const protocol = PROTOCOLS[p.protocol as keyof typeof PROTOCOLS];
      if (!protocol) throw invalidArgs(`unknown port mapping protocol ${p.protocol}`);
      return { protocol, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIp };
    }),
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    cgroupParent: linux?.cgroupParent ?? '',
    namespaces: {
      hostNetwork,
      hostIpc,
      pid: pidMode === NamespaceMode.NODE ? 'node' : pidMode === NamespaceMode.CONTAINER ? 'container' : 'pod',
    },
    sysctls: podSysctls({ ...linux?.sysctls }, hostNetwork, hostIpc),
    privileged: sc?.privileged ?? false,
    runtimeHandler,
    ...(seccompProfile !== undefined ? { seccompProfile } : {}),
    ...(apparmorProfile !== undefined ? { apparmorProfile } : {}),
    ...(resources && Object.keys(resources).length > 0 ? { resources } : {}),
    ...(overhead && Object.keys(overhead).length > 0 ? { overhead } : {}),
  };
}

const MODES = { pod: NamespaceMode.POD, container: NamespaceMode.CONTAINER, node: NamespaceMode.NODE } as const;

/** READY while the record says so and its pause runs: a pause that died leaves the pod NOTREADY. */
export function podReady(pc: PodContext, pod: PodRecord): boolean {
  return pod.state === 'ready' && pc.engine.store.find(pod.id)?.state.Running === true;
}

function metadataOf(pod: PodRecord) {
  return { name: pod.config.name, uid: pod.config.uid, namespace: pod.config.namespace, attempt: pod.config.attempt };
}

/** PodSandboxStatus of a pod (also attached to GetContainerEvents' events). */
export function podStatusOf(pc: PodContext, pod: PodRecord): Omit<PodSandboxStatus, '$typeName' | 'metadata' | 'network' | 'linux'> & Record<string, unknown> {
  const [ip = '', ...more] = pod.ips.map((cidr) => cidr.split('/')[0]!);
  return {
    id: pod.id,
    metadata: metadataOf(pod),
    state: podReady(pc, pod) ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
    createdAt: BigInt(pod.createdAt),
    network: { ip, additionalIps: more.map((a) => ({ ip: a })) },
    linux: {
      namespaces: {
        options: {
          network: pod.config.namespaces.hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD,
          pid: MODES[pod.config.namespaces.pid],
          ipc: pod.config.namespaces.hostIpc ? NamespaceMode.NODE : NamespaceMode.POD,
        },
      },
    },
    labels: pod.config.labels,
    annotations: pod.config.annotations,
    runtimeHandler: pod.config.runtimeHandler,
  };
}

/** kubelet's label selector: every pair must match. */
export const matchesLabels = (labels: Record<string, string>, selector: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

export function criPodService(pc: PodContext): CriHandler[] {
  const method = RuntimeService.method;
  return [
    criUnary(method.runPodSandbox, async (request, call) => ({
      podSandboxId: await runPod(pc, podConfigOf(request.config, request.runtimeHandler), call.signal),
    })),
    criUnary(method.stopPodSandbox, async (request) => {
      if (request.podSandboxId === '') throw invalidArgs('pod sandbox id is empty');
      await stopPod(pc, pc.store.get(request.podSandboxId));
      return {};
    }),
    criUnary(method.removePodSandbox, async (request) => {
      if (request.podSandboxId === '') throw invalidArgs('pod sandbox id is empty');
      // Idempotent, as kubelet expects: an unknown pod is already removed.
      const pod = pc.store.find(request.podSandboxId);
      if (pod) await removePod(pc, pod);
      return {};
    }),
    criUnary(method.podSandboxStatus, async (request) => {
      if (request.podSandboxId === '') throw invalidArgs('pod sandbox id is empty');
      const pod = pc.store.get(request.podSandboxId);
      const pause = pc.engine.store.find(pod.id);
      const info: Record<string, string> = request.verbose
        ? {
            info: JSON.stringify({
              pid: pause?.state.Running ? pause.state.Pid : 0,
              image: pc.sandboxImage,
              netnsPath: pod.netnsPath ?? '',
              runtime: pause?.record.host.Runtime ?? '',
              containers: podContainers(pc, pod.id).map((c) => c.id),
              // The pod cgroup's limits (resources + overhead), written to its cgroup parent.
              podCgroupLimits: podLimits(pod.config) ?? null,
              config: pod.config,
            }),
          }
        : {};
      return { status: podStatusOf(pc, pod), info, timestamp: BigInt(Date.now()) * 1_000_000n };
    }),
    criUnary(method.listPodSandbox, async (request) => {
      const f = request.filter;
      const items = pc.store
        .all()
        .filter((pod) => !f?.id || pod.id.startsWith(f.id))
        .filter((pod) => !f?.state || (podReady(pc, pod) ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY) === f.state.state)
        .filter((pod) => !f || matchesLabels(pod.config.labels, f.labelSelector))
        .map((pod) => {
          const s = podStatusOf(pc, pod);
          return {
            id: s.id,
            metadata: metadataOf(pod),
            state: s.state,
            createdAt: s.createdAt,
            labels: s.labels,
            annotations: s.annotations,
            runtimeHandler: s.runtimeHandler,
          };
        });
      return { items };
    }),
  ];
}

/** How the streaming handlers find a CRI container or a pod by id or prefix (NotFound otherwise). */
export function criStreamingLookup(pc: PodContext): StreamingLookup {
  return {
    container: async (ref) => {
      const c = pc.engine.store.find(ref);
      if (!c || c.record.config.Config.Labels[LABEL_TYPE] !== TYPE_CONTAINER) throw notFound(`container ${ref} not found`);
      return { id: c.id, running: c.state.Running };
    },
    pod: async (ref) => {
      const pod = pc.store.get(ref);
      return { id: pod.id, ready: podReady(pc, pod) };
    },
  };
}
