/**
 * CRI's container methods on the container and pod domains: CreateContainer, StartContainer,
 * StopContainer, RemoveContainer, ListContainers, ContainerStatus, UpdateContainerResources,
 * ExecSync. Only translation lives here.
 */
import {
  type ContainerConfig,
  ContainerEventType,
  ContainerState,
  MountPropagation,
  NamespaceMode,
  RuntimeService,
  SupplementalGroupsPolicy,
} from '../../api/cri/gen/api_pb.js';
import type { DeviceSpec, MountSpec } from '../../api/containers.js';
import { failedPrecondition, invalidArgs, notFound } from '../../api/errors.js';
import type { Container } from '../../container/container.js';
import { execSync } from '../../container/exec-sync.js';
import { removeContainer } from '../../container/remove.js';
import { startContainer } from '../../container/start.js';
import { stopContainer } from '../../container/stop.js';
import { updateContainer } from '../../container/update.js';
import { ZERO_TIME } from '../../container/record.js';
import type { PodContext } from '../../pod/context.js';
import { createInPod, podContainers, type PodContainerConfig } from '../../pod/containers.js';
import {
  ANNOTATION_ATTEMPT,
  ANNOTATION_IMAGE,
  ANNOTATION_IMAGE_ANNOTATIONS,
  ANNOTATION_LOG_PATH,
  ANNOTATION_NAME,
  ANNOTATION_PREFIX,
  LABEL_SANDBOX_ID,
  LABEL_TYPE,
  TYPE_CONTAINER,
} from '../../pod/record.js';
import { DEFAULT_CAPS } from '../../runtime/lxc/capabilities.js';
import { criUnary, type CriHandler } from './handlers.js';
import { criResourcesOf, resourcesOf } from './resources.js';
import { apparmorOf, checkUserns, seccompOf } from './security.js';
import { matchesLabels, podStatusOf } from './runtime-pods.js';

const PROPAGATIONS: Record<number, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'rprivate',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};

/**
 * Ambient capabilities: LXC 5 cannot raise them for a non-root user (it has no such key, and
 * capabilities go at the user switch). For root the added ones are held anyway; they must be
 * among the container's capabilities.
 */
function checkAmbient(ambient: string[], add: string[], user: string | undefined, privileged: boolean): void {
  if (ambient.length === 0) return;
  const uid = user?.split(':')[0];
  if (uid !== undefined && uid !== '0' && uid !== 'root')
    throw invalidArgs(`add_ambient_capabilities (${ambient.join(', ')}) for the non-root user ${uid} is not supported by the LXC runtime`);
  const norm = (c: string): string => c.toUpperCase().replace(/^CAP_/, '');
  const kept = new Set([...DEFAULT_CAPS, ...add.map(norm)]);
  for (const c of ambient) if (!privileged && !kept.has(norm(c))) throw invalidArgs(`add_ambient_capabilities: ${c} must also be in add_capabilities`);
}

function podContainerConfigOf(config: ContainerConfig | undefined): PodContainerConfig {
  if (!config?.metadata) throw invalidArgs('container config must have metadata');
  const sc = config.linux?.securityContext;
  // proto3's default, POD, as containerd reads an absent option too.
  const nsPid = sc?.namespaceOptions?.pid ?? NamespaceMode.POD;
  const pid =
    nsPid === NamespaceMode.POD
      ? ('pod' as const)
      : nsPid === NamespaceMode.NODE
        ? ('node' as const)
        : nsPid === NamespaceMode.TARGET
          ? { target: sc?.namespaceOptions?.targetId ?? '' }
          : ('container' as const);
  const group = sc?.runAsGroup ? `:${sc.runAsGroup.value}` : '';
  const user = sc?.runAsUser ? `${sc.runAsUser.value}${group}` : sc?.runAsUsername ? `${sc.runAsUsername}${group}` : undefined;
  checkUserns('container namespace_options', sc?.namespaceOptions);
  checkAmbient(sc?.capabilities?.addAmbientCapabilities ?? [], sc?.capabilities?.addCapabilities ?? [], user, sc?.privileged ?? false);
  const seccompProfile = seccompOf('container seccomp', sc?.seccomp, sc?.seccompProfilePath ?? '');
  const apparmorProfile = apparmorOf('container apparmor', sc?.apparmor, sc?.apparmorProfile ?? '');
  const devices: DeviceSpec[] = (config.devices ?? []).map((d) => {
    const permissions = d.permissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(permissions))
      throw invalidArgs(`invalid device ${d.hostPath}: permissions "${d.permissions}" must be a combination of r, w and m`);
    return { hostPath: d.hostPath, containerPath: d.containerPath || d.hostPath, permissions };
  });
  const mounts: MountSpec[] = config.mounts.map((m) => {
    if (!m.hostPath.startsWith('/') || !m.containerPath.startsWith('/'))
      throw invalidArgs(`invalid mount ${m.hostPath}:${m.containerPath}: paths must be absolute`);
    return { type: 'bind', source: m.hostPath, destination: m.containerPath, readOnly: m.readonly, propagation: PROPAGATIONS[m.propagation] ?? 'rprivate' };
  });
  return {
    name: config.metadata.name,
    attempt: config.metadata.attempt,
    image: config.image?.image ?? '',
    imageAnnotations: { ...config.image?.annotations },
    command: config.command,
    args: config.args,
    workingDir: config.workingDir,
    env: config.envs.map((kv) => {
      if (kv.key === '' || kv.key.includes('=')) throw invalidArgs(`invalid environment variable name "${kv.key}"`);
      return `${kv.key}=${kv.value}`;
    }),
    mounts,
    labels: { ...config.labels },
    annotations: { ...config.annotations },
    logPath: config.logPath,
    tty: config.tty,
    stdin: config.stdin,
    privileged: sc?.privileged ?? false,
    readOnly: sc?.readonlyRootfs ?? false,
    resources: resourcesOf(config.linux?.resources),
    capAdd: sc?.capabilities?.addCapabilities ?? [],
    capDrop: sc?.capabilities?.dropCapabilities ?? [],
    ...(user ? { user } : {}),
    pid,
    devices,
    ...(seccompProfile !== undefined ? { seccompProfile } : {}),
    ...(apparmorProfile !== undefined ? { apparmorProfile } : {}),
    noNewPrivileges: sc?.noNewPrivs ?? false,
    maskedPaths: sc?.maskedPaths ?? [],
    readonlyPaths: sc?.readonlyPaths ?? [],
    groupAdd: (sc?.supplementalGroups ?? []).map(Number),
    groupsStrict: sc?.supplementalGroupsPolicy === SupplementalGroupsPolicy.Strict,
  };
}

const nanos = (iso: string): bigint => (iso === ZERO_TIME || iso === '' ? 0n : BigInt(Date.parse(iso)) * 1_000_000n);

function stateOf(c: Container): ContainerState {
  if (c.state.Running) return ContainerState.CONTAINER_RUNNING;
  return c.state.StartedAt === ZERO_TIME ? ContainerState.CONTAINER_CREATED : ContainerState.CONTAINER_EXITED;
}

/** A CRI container's own annotations: without the engine's metadata ones. */
function userAnnotations(c: Container): Record<string, string> {
  return Object.fromEntries(Object.entries(c.record.config.Config.Annotations ?? {}).filter(([k]) => !k.startsWith(ANNOTATION_PREFIX)));
}

function userLabels(c: Container): Record<string, string> {
  const { [LABEL_TYPE]: _type, [LABEL_SANDBOX_ID]: _pod, ...rest } = c.record.config.Config.Labels;
  return rest;
}

/** The ImageSpec annotations CreateContainer was given (none when unreadable). */
function imageAnnotationsOf(a: Record<string, string>): Record<string, string> {
  try {
    return JSON.parse(a[ANNOTATION_IMAGE_ANNOTATIONS] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

function summaryOf(c: Container) {
  const a = c.record.config.Config.Annotations ?? {};
  const id = c.record.config.ImageId ?? '';
  // CRI's image ref is the image id as ImageService reports it.
  const imageRef = id === '' || id.startsWith('sha256:') ? id : `sha256:${id}`;
  return {
    id: c.id,
    podSandboxId: c.record.config.Config.Labels[LABEL_SANDBOX_ID] ?? '',
    metadata: { name: a[ANNOTATION_NAME] ?? c.name, attempt: Number(a[ANNOTATION_ATTEMPT] ?? 0) },
    image: { image: a[ANNOTATION_IMAGE] ?? c.record.config.Image, annotations: imageAnnotationsOf(a) },
    imageRef,
    imageId: imageRef,
    state: stateOf(c),
    createdAt: nanos(c.record.config.Created),
    labels: userLabels(c),
    annotations: userAnnotations(c),
  };
}

/** ContainerStatus of a CRI container. */
function statusOf(pc: PodContext, c: Container) {
  const s = summaryOf(c);
  const { [ANNOTATION_LOG_PATH]: relLog } = c.record.config.Config.Annotations ?? {};
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state,
    createdAt: s.createdAt,
    startedAt: nanos(c.state.StartedAt),
    finishedAt: nanos(c.state.FinishedAt),
    exitCode: s.state === ContainerState.CONTAINER_EXITED ? c.state.ExitCode : 0,
    image: s.image,
    // kubelet shows this as the container's imageID: the repo digest when there is one, as containerd.
    imageRef: pc.repoDigestOf(s.imageId) ?? s.imageRef,
    imageId: s.imageId,
    reason: reasonOf(c),
    message: c.state.Error,
    labels: s.labels,
    annotations: s.annotations,
    mounts: c.record.host.Mounts.filter((m) => m.type === 'bind' && !m.source.startsWith(pc.store.root)).map((m) => ({
      containerPath: m.destination,
      hostPath: m.source,
      readonly: m.readOnly,
      propagation:
        m.propagation === 'rshared'
          ? MountPropagation.PROPAGATION_BIDIRECTIONAL
          : m.propagation === 'rslave'
            ? MountPropagation.PROPAGATION_HOST_TO_CONTAINER
            : MountPropagation.PROPAGATION_PRIVATE,
    })),
    logPath: relLog !== undefined ? c.record.config.LogPath : '',
    resources: { linux: criResourcesOf(c.record.host.Resources) },
  };
}

/** Kubelet's reasons: Completed for exit 0, OOMKilled, else Error. */
function reasonOf(c: Container): string {
  if (stateOf(c) !== ContainerState.CONTAINER_EXITED) return '';
  if (c.state.OOMKilled) return 'OOMKilled';
  return c.state.ExitCode === 0 ? 'Completed' : 'Error';
}

const EVENT_TYPES: Record<string, ContainerEventType> = {
  create: ContainerEventType.CONTAINER_CREATED_EVENT,
  start: ContainerEventType.CONTAINER_STARTED_EVENT,
  die: ContainerEventType.CONTAINER_STOPPED_EVENT,
  destroy: ContainerEventType.CONTAINER_DELETED_EVENT,
};

/** What GetContainerEvents writes to: its server-streaming call. */
interface EventStream {
  write(message: unknown): void;
  onCancel(listener: () => void): void;
}

/**
 * GetContainerEvents: the lifecycle events of CRI's containers and pods' pauses (kubelet's
 * evented PLEG), from the engine's event log, with the pod's status and its containers'
 * statuses attached as containerd attaches them. A destroyed container is no longer in the
 * store: its pod is remembered from its earlier events, and named by the k8s_ name filter.
 */
function containerEvents(pc: PodContext): CriHandler {
  return {
    method: RuntimeService.method.getContainerEvents,
    handler: (_request, call) =>
      new Promise<void>((resolve) => {
        const stream = call as unknown as EventStream;
        const podOf = new Map<string, string>();
        const unsubscribe = pc.engine.events.subscribe((e) => {
          const type = EVENT_TYPES[e.action];
          if (e.type !== 'container' || type === undefined || !(e.attributes.name ?? '').startsWith('k8s_')) return;
          const c = pc.engine.store.find(e.id);
          const labels = c?.record.config.Config.Labels;
          const podId = labels ? (labels[LABEL_TYPE] === TYPE_CONTAINER ? labels[LABEL_SANDBOX_ID] : e.id) : podOf.get(e.id);
          if (podId) podOf.set(e.id, podId);
          if (type === ContainerEventType.CONTAINER_DELETED_EVENT) podOf.delete(e.id);
          const pod = podId ? pc.store.find(podId) : undefined;
          stream.write({
            containerId: e.id,
            containerEventType: type,
            createdAt: BigInt(e.timeNano),
            ...(pod ? { podSandboxStatus: podStatusOf(pc, pod) } : {}),
            containersStatuses: pod ? podContainers(pc, pod.id).map((x) => statusOf(pc, x)) : [],
          });
        });
        stream.onCancel(() => {
          unsubscribe();
          resolve();
        });
      }),
  };
}

export function criContainerService(pc: PodContext): CriHandler[] {
  const method = RuntimeService.method;
  const store = pc.engine.store;
  /** Only the containers CRI made are CRI's: not the pods' pauses, not isula's own. */
  const get = (id: string): Container => {
    if (id === '') throw invalidArgs('container id is empty');
    const c = store.find(id);
    if (!c || c.record.config.Config.Labels[LABEL_TYPE] !== TYPE_CONTAINER) throw notFound(`container ${id} not found`);
    return c;
  };
  return [
    containerEvents(pc),
    criUnary(method.createContainer, async (request, call) => {
      if (request.podSandboxId === '') throw invalidArgs('pod sandbox id is empty');
      return { containerId: await createInPod(pc, request.podSandboxId, podContainerConfigOf(request.config), call.answered) };
    }),
    criUnary(method.startContainer, async (request) => {
      await startContainer(pc.engine, get(request.containerId));
      return {};
    }),
    criUnary(method.stopContainer, async (request) => {
      await stopContainer(pc.engine, get(request.containerId), Number(request.timeout));
      return {};
    }),
    criUnary(method.removeContainer, async (request, call) => {
      if (request.containerId === '') throw invalidArgs('container id is empty');
      // Idempotent, as kubelet expects.
      const c = store.find(request.containerId);
      if (c && c.record.config.Config.Labels[LABEL_TYPE] === TYPE_CONTAINER) await removeContainer(pc.engine, c, true, { later: call.answered });
      return {};
    }),
    criUnary(method.listContainers, async (request) => {
      const f = request.filter;
      const containers = store
        .all()
        .filter((c) => c.record.config.Config.Labels[LABEL_TYPE] === TYPE_CONTAINER)
        .filter((c) => !f?.id || c.id.startsWith(f.id))
        .filter((c) => !f?.podSandboxId || (c.record.config.Config.Labels[LABEL_SANDBOX_ID] ?? '').startsWith(f.podSandboxId))
        .filter((c) => !f?.state || stateOf(c) === f.state.state)
        .filter((c) => !f || matchesLabels(userLabels(c), f.labelSelector))
        .map(summaryOf);
      return { containers };
    }),
    criUnary(method.containerStatus, async (request) => {
      const c = get(request.containerId);
      return {
        status: statusOf(pc, c),
        info: (request.verbose
          ? { info: JSON.stringify({ pid: c.state.Pid, runtime: c.record.host.Runtime, config: c.record.config, hostConfig: c.record.host }) }
          : {}) as Record<string, string>,
      };
    }),
    criUnary(method.updateContainerResources, async (request) => {
      await updateContainer(pc.engine, get(request.containerId), { id: request.containerId, resources: resourcesOf(request.linux) });
      return {};
    }),
    criUnary(method.reopenContainerLog, async (request) => {
      const c = get(request.containerId);
      if (!c.state.Running || !c.pump) throw failedPrecondition(`container ${c.id} is not running`);
      c.pump.reopenLog();
      return {};
    }),
    criUnary(method.execSync, async (request, call) => {
      const result = await execSync(pc.engine, get(request.containerId), request.cmd, Number(request.timeout), call.signal);
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
    }),
  ];
}
