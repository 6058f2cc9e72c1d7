import type { DeviceSpec, NamespaceShares, OciHooks, MountSpec, ResourceSpec, RestartPolicySpec, UlimitSpec } from '../api/containers.js';

export interface HealthConfig {
  /** ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]. */
  Test: string[];
  IntervalMs: number;
  TimeoutMs: number;
  StartPeriodMs: number;
  Retries: number;
  ExitOnUnhealthy: boolean;
}

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** The persisted state of a container (the `State` member of config.v2.json). */
export interface ContainerState {
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  /** Host pid of the container's init and its start time (ticks since boot, /proc/<pid>/stat field 22). */
  Pid: number;
  PidStartTime: number;
  /** The runtime's helper process (iSulad's shim; LXC: lxc-start) that holds the container's stdio. */
  ShimPid: number;
  ShimStartTime: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Set by stop/kill so that restart policies and the exit code know the user asked for it. */
  ManuallyStopped: boolean;
  /** The engine sent SIGKILL itself; an exit then counts as 137 whatever the runtime says. */
  ForceKilled: boolean;
  Health?: HealthState;
}

export interface ContainerConfig {
  Hostname: string;
  User: string;
  Env: string[];
  Cmd: string[];
  Entrypoint: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  Tty: boolean;
  OpenStdin: boolean;
  StopSignal: string;
  Healthcheck?: HealthConfig;
  /** From the image, recorded for later issues (ports, volumes); not acted on yet. */
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Annotations?: Record<string, string>;
}

/** config.v2.json: identity, configuration and state. */
export interface ContainerConfigV2 {
  ID: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Image: string;
  ImageType: 'external' | 'embedded' | 'oci' | 'none';
  /** The image's id (`sha256:...`) for OCI images: a name can move to another image later. */
  ImageId?: string;
  BaseFs: string;
  LogPath: string;
  RestartCount: number;
  Config: ContainerConfig;
  State: ContainerState;
}

/** hostconfig.json: how the container is run on this host. */
export interface HostConfig {
  Runtime: string;
  SystemContainer: boolean;
  ExternalRootfs: string;
  ReadonlyRootfs: boolean;
  Mounts: MountSpec[];
  /** Read-only layer mounts from the image, mounted before the user's own. */
  ImageMounts: MountSpec[];
  Resources: ResourceSpec;
  CapAdd: string[];
  CapDrop: string[];
  Privileged: boolean;
  Devices: DeviceSpec[];
  Ulimits: UlimitSpec[];
  HookSpec: string;
  /** The hooks read from HookSpec at create, so later edits of that file change nothing. */
  Hooks?: OciHooks;
  RestartPolicy: RestartPolicySpec;
  AutoRemove: boolean;
  LogConfig: { Type: string; Config: Record<string, string> };
  CgroupParent: string;
  NetworkMode: string;
  /** Namespaces joined at start: `container:<id>` or a namespace file (a pod's netns). */
  Namespaces?: NamespaceShares;
  Sysctls?: Record<string, string>;
  /** See CreateRequest.seccompProfile. */
  SeccompProfile?: string;
  AppArmorProfile?: string;
  NoNewPrivileges?: boolean;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  GroupAdd?: number[];
  GroupsStrict?: boolean;
}

export interface ContainerRecord {
  config: ContainerConfigV2;
  host: HostConfig;
}

export function emptyState(): ContainerState {
  return {
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    PidStartTime: 0,
    ShimPid: 0,
    ShimStartTime: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
    ManuallyStopped: false,
    ForceKilled: false,
  };
}

/** Go's zero time, as Docker and iSulad print a time that never happened. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
