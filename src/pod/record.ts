/** A pod sandbox as the engine keeps it: `<graph>/pods/<id>/pod.json`, written atomically. */

export interface PortMapping {
  protocol: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** How the pod uses the host's namespaces: CRI's NamespaceOption, POD / NODE / CONTAINER. */
export interface PodNamespaces {
  hostNetwork: boolean;
  hostIpc: boolean;
  /** 'pod': one pid namespace, the pause's; 'container': each its own; 'node': the host's. */
  pid: 'pod' | 'container' | 'node';
}

import type { ResourceSpec } from '../api/containers.js';

/** What RunPodSandbox asked for, kept to answer PodSandboxStatus and to restore the pod. */
export interface PodConfig {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
  hostname: string;
  logDirectory: string;
  dns?: DnsConfig;
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cgroupParent: string;
  namespaces: PodNamespaces;
  sysctls: Record<string, string>;
  privileged: boolean;
  /** CRI's runtime_handler ('' for the default). */
  runtimeHandler: string;
  /** The pause's seccomp and AppArmor (CreateRequest's meaning). */
  seccompProfile?: string;
  apparmorProfile?: string;
  /** The pod's resources (its containers' sum) and the sandbox's overhead: the pod cgroup's limits. */
  resources?: ResourceSpec;
  overhead?: ResourceSpec;
}

export type PodState = 'ready' | 'notready';

export interface PodRecord {
  /** The pause container's id, as iSulad and dockershim name a pod. */
  id: string;
  config: PodConfig;
  /** Nanoseconds since the epoch, as a decimal string (CRI's created_at). */
  createdAt: string;
  /** 'ready' from a complete RunPodSandbox until StopPodSandbox; the pause must also run. */
  state: PodState;
  /** The pod's network namespace file, when the pod has its own network (NET's createNetns). */
  netnsPath?: string;
  /** True from CNI ADD until its DEL has succeeded: a stop after a restart still DELs. */
  networkAttached: boolean;
  ips: string[];
}

/** Labels the engine puts on the containers it makes for CRI (isula ps shows them, as iSulad's). */
export const LABEL_TYPE = 'cri.isulad.type';
export const TYPE_SANDBOX = 'podsandbox';
export const TYPE_CONTAINER = 'container';
export const LABEL_SANDBOX_ID = 'io.kubernetes.sandbox.id';

/** Annotations holding a CRI container's metadata; not shown to CRI clients as annotations. */
export const ANNOTATION_PREFIX = 'cri.isulad.';
export const ANNOTATION_NAME = 'cri.isulad.name';
export const ANNOTATION_ATTEMPT = 'cri.isulad.attempt';
export const ANNOTATION_IMAGE = 'cri.isulad.image';
/** The ImageSpec's annotations of CreateContainer, as JSON, reported back with the image. */
export const ANNOTATION_IMAGE_ANNOTATIONS = 'cri.isulad.image-annotations';
export const ANNOTATION_LOG_PATH = 'cri.isulad.log-path';
