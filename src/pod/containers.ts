import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CreateRequest, DeviceSpec, MountSpec, NamespaceShares, ResourceSpec } from '../api/containers.js';
import { failedPrecondition, invalidArgs } from '../api/errors.js';
import type { Container } from '../container/container.js';
import { createContainer } from '../container/create.js';
import { ensureRootfs } from '../container/rootfs.js';
import type { PodContext } from './context.js';
import { podEtcMounts } from './etc.js';
import {
  ANNOTATION_ATTEMPT,
  ANNOTATION_IMAGE,
  ANNOTATION_IMAGE_ANNOTATIONS,
  ANNOTATION_LOG_PATH,
  ANNOTATION_NAME,
  LABEL_SANDBOX_ID,
  LABEL_TYPE,
  TYPE_CONTAINER,
  TYPE_SANDBOX,
  type PodRecord,
} from './record.js';

/** A container of a pod, as CRI's CreateContainer describes it. */
export interface PodContainerConfig {
  name: string;
  attempt: number;
  image: string;
  /** ImageSpec.annotations, kept and reported with the image. */
  imageAnnotations: Record<string, string>;
  command: string[];
  args: string[];
  workingDir: string;
  env: string[];
  mounts: MountSpec[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the pod's log directory. */
  logPath: string;
  tty: boolean;
  stdin: boolean;
  privileged: boolean;
  readOnly: boolean;
  resources: ResourceSpec;
  capAdd: string[];
  capDrop: string[];
  user?: string;
  /** CRI's NamespaceMode for pid: the pod's (the pause's), its own, the node's, or another container's. */
  pid: 'pod' | 'container' | 'node' | { target: string };
  devices: DeviceSpec[];
  /** See CreateRequest: absent for the engine's default. */
  seccompProfile?: string;
  apparmorProfile?: string;
  noNewPrivileges: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  groupAdd: number[];
  groupsStrict: boolean;
}

const NAME_PART_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Kubelet's container name: k8s_<container>_<pod>_<namespace>_<uid>_<attempt> (k8s_POD_... for the pause). */
export function criContainerName(container: string, pod: PodRecord['config']): string {
  for (const [what, part] of [
    ['container name', container],
    ['pod name', pod.name],
    ['pod namespace', pod.namespace],
    ['pod uid', pod.uid],
  ] as const) {
    if (!NAME_PART_RE.test(part)) throw invalidArgs(`invalid ${what} "${part}"`);
  }
  return `k8s_${container}_${pod.name}_${pod.namespace}_${pod.uid}_${pod.attempt}`;
}

/** The containers of a pod (its pause excluded), by the label every one of them carries. */
export function podContainers(pc: PodContext, podId: string): Container[] {
  return pc.engine.store
    .all()
    .filter((c) => c.record.config.Config.Labels[LABEL_SANDBOX_ID] === podId && c.record.config.Config.Labels[LABEL_TYPE] === TYPE_CONTAINER);
}

/** Every container CRI made: pods' pauses and their containers. */
export function isCriContainer(c: Container): boolean {
  const type = c.record.config.Config.Labels[LABEL_TYPE];
  return type === TYPE_CONTAINER || type === TYPE_SANDBOX;
}

/**
 * CreateContainer: a container that joins its pod's network, IPC and UTS namespaces (and pid
 * ones by its pid mode), sees the pod's hostname, hosts and resolv.conf, and writes its output
 * in CRI's format under the pod's log directory.
 */
export async function createInPod(pc: PodContext, podRef: string, cfg: PodContainerConfig, answered: () => Promise<void>): Promise<string> {
  const pod = pc.store.get(podRef);
  return pc.locks.run(pod.id, async () => {
    if (pc.store.find(pod.id) !== pod) throw failedPrecondition(`pod sandbox ${pod.id} was removed`);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
    if (cfg.name === '') throw invalidArgs('container config must have a metadata name');
    if (cfg.image === '') throw invalidArgs('container config must name an image');
    const ns = pod.config.namespaces;
    const pause = `container:${pod.id}`;
    const namespaces: NamespaceShares = { ipc: pause, uts: pause };
    if (!ns.hostNetwork) namespaces.net = pod.netnsPath ?? pause;
    if (typeof cfg.pid === 'object') {
      const target = pc.engine.store.get(cfg.pid.target);
      if (target.record.config.Config.Labels[LABEL_SANDBOX_ID] !== pod.id) throw invalidArgs(`target container ${cfg.pid.target} is not in pod ${pod.id}`);
      namespaces.pid = `container:${target.id}`;
    } else if (cfg.pid === 'pod') namespaces.pid = pause;
    else if (cfg.pid === 'node') namespaces.pid = 'host';
    const logPath = pod.config.logDirectory && cfg.logPath ? joinLogPath(pod.config.logDirectory, cfg.logPath) : undefined;
    // Kubelet makes the directory; crictl users may not have. On the thread pool while the
    // create validates; the create fails (and removes what it made) if this does.
    const logDir = logPath ? fsp.mkdir(path.dirname(logPath), { recursive: true, mode: 0o755 }) : undefined;
    // A create refused before it awaits this one still made the directory, as before.
    logDir?.catch(() => undefined);
    const request: CreateRequest = {
      name: criContainerName(cfg.name, pod.config),
      image: cfg.image,
      ...(cfg.command.length > 0 ? { entrypoint: cfg.command } : {}),
      cmd: cfg.args,
      env: cfg.env,
      labels: { ...cfg.labels, [LABEL_TYPE]: TYPE_CONTAINER, [LABEL_SANDBOX_ID]: pod.id },
      annotations: {
        ...cfg.annotations,
        [ANNOTATION_NAME]: cfg.name,
        [ANNOTATION_ATTEMPT]: String(cfg.attempt),
        [ANNOTATION_IMAGE]: cfg.image,
        ...(Object.keys(cfg.imageAnnotations).length > 0 ? { [ANNOTATION_IMAGE_ANNOTATIONS]: JSON.stringify(cfg.imageAnnotations) } : {}),
        ...(logPath ? { [ANNOTATION_LOG_PATH]: cfg.logPath } : {}),
      },
      ...(cfg.workingDir ? { workdir: cfg.workingDir } : {}),
      ...(cfg.user ? { user: cfg.user } : {}),
      hostname: pod.config.hostname,
      tty: cfg.tty,
      openStdin: cfg.stdin,
      runtime: pc.runtimeFor(pod.config.runtimeHandler),
      systemContainer: false,
      readOnly: cfg.readOnly,
      mounts: [...podEtcMounts(pc.store.dirOf(pod.id)), ...cfg.mounts],
      resources: cfg.resources,
      capAdd: cfg.capAdd,
      capDrop: cfg.capDrop,
      privileged: cfg.privileged,
      devices: cfg.devices,
      ulimits: [],
      logOpts: {},
      ...(cfg.seccompProfile !== undefined ? { seccompProfile: cfg.seccompProfile } : {}),
      ...(cfg.apparmorProfile !== undefined ? { apparmorProfile: cfg.apparmorProfile } : {}),
      noNewPrivileges: cfg.noNewPrivileges,
      maskedPaths: cfg.maskedPaths,
      readonlyPaths: cfg.readonlyPaths,
      groupAdd: cfg.groupAdd,
      groupsStrict: cfg.groupsStrict,
      autoRemove: false,
      cgroupParent: pod.config.cgroupParent,
      networkMode: ns.hostNetwork ? 'host' : 'none',
      namespaces,
      ...(logPath ? { criLogPath: logPath } : {}),
    };
    const { id } = await createContainer(pc.engine, request, undefined, { alongside: logDir, answered });
    // Kubelet starts what it creates: the rootfs is mounted now, in the background, and the
    // start waits for that mount (or makes it, and reports its failure).
    ensureRootfs(pc.engine, pc.engine.store.get(id)).catch(() => undefined);
    return id;
  });
}

/** log_directory/log_path, the path kept inside the directory. */
function joinLogPath(dir: string, rel: string): string {
  if (rel.startsWith('/') || rel.split('/').includes('..')) throw invalidArgs(`invalid log path "${rel}": must be relative to the pod's log directory`);
  return `${dir.replace(/\/+$/, '')}/${rel}`;
}
