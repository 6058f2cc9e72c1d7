/** Messages of isulad.ContainerService. Field names follow Docker/iSulad's inspect output. */

/** A terminal's size, as -t sends it and resize changes it. */
export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface MountSpec {
  type: 'bind' | 'tmpfs' | 'squashfs';
  source: string;
  destination: string;
  readOnly: boolean;
  /** bind propagation: rprivate (default), private, rshared, shared, rslave, slave. */
  propagation?: string;
  /** tmpfs options, e.g. size=64m,mode=1777. */
  options?: string;
}

/** One OCI hook (runtime-spec config.md "POSIX-platform Hooks"). */
export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

export interface ResourceSpec {
  memory?: number;
  memorySwap?: number;
  cpuShares?: number;
  nanoCpus?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  filesLimit?: number;
  /** hugetlb limits by page size as the kernel names it (2MB, 1GB): bytes. */
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** cgroup v2 files written as given (`memory.high` ...), on a cgroup2 host only. */
  unified?: Record<string, string>;
}

export interface UlimitSpec {
  name: string;
  soft: number;
  hard: number;
}

export interface DeviceSpec {
  hostPath: string;
  containerPath: string;
  permissions: string;
}

export interface RestartPolicySpec {
  name: 'no' | 'always' | 'on-failure' | 'unless-stopped' | 'on-reboot';
  maximumRetryCount: number;
}

/** Everything `isula create` sends; the daemon fills in image config and defaults. */
/** Health check flags; durations in milliseconds, 0 meaning the default. */
export interface HealthcheckSpec {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries?: number;
  exitOnUnhealthy: boolean;
}

export interface CreateRequest {
  name?: string;
  image: string;
  /** `os/arch[/variant]` (`--platform`): the image must be of it (else not found, and the client pulls it). */
  platform?: string;
  externalRootfs?: string;
  cmd: string[];
  entrypoint?: string[];
  env: string[];
  labels: Record<string, string>;
  workdir?: string;
  user?: string;
  hostname?: string;
  tty: boolean;
  openStdin: boolean;
  runtime?: string;
  systemContainer: boolean;
  readOnly: boolean;
  mounts: MountSpec[];
  resources: ResourceSpec;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  devices: DeviceSpec[];
  ulimits: UlimitSpec[];
  hookSpec?: string;
  stopSignal?: string;
  logOpts: Record<string, string>;
  autoRemove: boolean;
  restartPolicy?: RestartPolicySpec;
  cgroupParent?: string;
  networkMode?: string;
  healthcheck?: HealthcheckSpec;
  /** Kept with the container, shown by inspect; CRI keeps its metadata here. */
  annotations?: Record<string, string>;
  /** Namespaces joined instead of made: `host`, `container:<id>` (that container's init) or a namespace file. */
  namespaces?: NamespaceShares;
  /** Namespaced sysctls set in the container (`net.ipv4.ip_forward` ...). */
  sysctls?: Record<string, string>;
  /**
   * seccomp: absent for the engine's default profile, `unconfined` for none, else the text of
   * an OCI (Docker) JSON profile, kept in the record as Docker keeps it.
   */
  seccompProfile?: string;
  /** AppArmor: absent or `unconfined` for none; `generated` for LXC's own; else a loaded profile's name. */
  apparmorProfile?: string;
  /** PR_SET_NO_NEW_PRIVS for the container's processes. */
  noNewPrivileges?: boolean;
  /** Paths under /proc and /sys hidden (a file: /dev/null over it; a directory: an empty read-only tmpfs). */
  maskedPaths?: string[];
  /** Paths under /proc and /sys made read-only. */
  readonlyPaths?: string[];
  /** Supplementary group ids of the container's processes, besides those etc/group gives its user. */
  groupAdd?: number[];
  /** Only `groupAdd`, not etc/group's (CRI's SupplementalGroupsPolicy Strict). */
  groupsStrict?: boolean;
  /** Output in CRI's log format (`TIME STREAM P|F text`) at this path instead of the json-file log. */
  criLogPath?: string;
}

export type NamespaceKind = 'net' | 'ipc' | 'uts' | 'pid';
export type NamespaceShares = Partial<Record<NamespaceKind, string>>;

export interface IdRequest {
  id: string;
}

export interface CreateResponse {
  id: string;
  warnings: string[];
}

export interface StopRequest {
  id: string;
  /** Seconds to wait after the stop signal before SIGKILL. */
  timeout: number;
  force?: boolean;
}

export interface KillRequest {
  id: string;
  signal: string;
}

export interface RemoveRequest {
  id: string;
  force: boolean;
}

export interface RenameRequest {
  id: string;
  newName: string;
}

export interface ListRequest {
  all: boolean;
  filters: Record<string, string[]>;
  last?: number;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  command: string;
  created: string;
  status: string;
  state: string;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  labels: Record<string, string>;
  runtime: string;
  pid: number;
  inGc: boolean;
  /** starting, healthy or unhealthy when the container has a health check. */
  health?: string;
}

export interface ListResponse {
  containers: ContainerSummary[];
}

/** `isula inspect` of a container: Docker's shape, as a plain JSON object. */
export interface InspectResponse {
  json: string;
}

export interface WaitResponse {
  exitCode: number;
}

export interface LogsRequest {
  id: string;
  follow: boolean;
  /** Number of last lines, -1 for all. */
  tail: number;
  timestamps: boolean;
}

/** One chunk of container output; `stream` 1 is stdout, 2 is stderr. */
export interface OutputChunk {
  stream?: 1 | 2;
  data?: Uint8Array;
  time?: string;
  /** Set on the last message of an attach to the main process or of an exec: its exit code. */
  exitCode?: number;
}

export interface AttachRequest {
  id: string;
  stdin?: boolean;
  /** Further messages of the call carry input; `eof` closes the container's stdin. */
  input?: Uint8Array;
  eof?: boolean;
  resize?: TerminalSize;
  /** Start the container once attached (run without -d, start -a). */
  start?: boolean;
}

export interface ExecRequest {
  id: string;
  cmd: string[];
  env: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  stdin: boolean;
  detach: boolean;
  input?: Uint8Array;
  eof?: boolean;
  resize?: TerminalSize;
}

export interface TopRequest {
  id: string;
  psArgs: string[];
}

export interface TopResponse {
  titles: string[];
  processes: string[][];
}

export interface UpdateRequest {
  id: string;
  resources: ResourceSpec;
  restartPolicy?: RestartPolicySpec;
}

export interface EventsRequest {
  since?: string;
  until?: string;
  name?: string;
}

export interface EngineEvent {
  time: string;
  /** Nanoseconds since the epoch, for ordering and --since/--until. */
  timeNano: string;
  type: 'container' | 'image';
  action: string;
  id: string;
  attributes: Record<string, string>;
}

/** isula export: the container's filesystem as a tar, streamed back in ArchiveChunks. */
export interface ExportRequest {
  id: string;
}
