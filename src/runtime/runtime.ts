import type { Readable, Writable } from 'node:stream';
import type { DeviceSpec, OciHooks, TerminalSize, MountSpec, ResourceSpec, UlimitSpec } from '../api/containers.js';

/** Everything a runtime needs to run one container, derived from its record. */
export interface RuntimeSpec {
  id: string;
  hostname: string;
  rootfs: { kind: 'dir' | 'block'; path: string };
  readOnly: boolean;
  args: string[];
  env: string[];
  workdir: string;
  user: { uid: number; gid: number; groups: number[] };
  tty: boolean;
  openStdin: boolean;
  /** Image layers first, then the user's mounts, in mount order. */
  mounts: MountSpec[];
  resources: ResourceSpec;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  devices: DeviceSpec[];
  ulimits: UlimitSpec[];
  systemContainer: boolean;
  /** Cgroup path of the container relative to every hierarchy's root, e.g. isulad/<id>. */
  cgroupPath: string;
  networkMode: string;
  /** OCI hooks (--hook-spec). */
  hooks: OciHooks | undefined;
  /** Files the engine bind-mounts for app containers: hostname, hosts, resolv.conf (not one a mount of the container covers). */
  etcFiles: { hostname?: string; hosts?: string; resolvConf?: string };
  /** Namespace files to join instead of making new namespaces, resolved at start. */
  namespaces?: Partial<Record<'net' | 'ipc' | 'uts' | 'pid', string>>;
  sysctls?: Record<string, string>;
  /** Absent: the runtime's default profile; `unconfined`; else an OCI JSON profile. */
  seccompProfile?: string;
  /** Absent or `unconfined`: none; else the profile LXC puts the container in. */
  apparmorProfile?: string;
  noNewPrivileges?: boolean;
  /** Under /proc and /sys: hidden, or made read-only, once LXC has mounted them. */
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

/** The running container's processes, persisted so a restarted daemon finds them again. */
export interface StartedContainer {
  pid: number;
  pidStartTime: number;
  /** The container's helper process (iSulad's shim): holds its stdio and sees its exit. */
  shimPid: number;
  shimStartTime: number;
}

/** The container's output streams while it runs; both end once it exited and all was read. */
export interface ContainerIo {
  stdout: Readable;
  stderr: Readable;
  /** Present when the container was started with an open stdin. */
  stdin?: Writable;
}

export interface ExecOptions {
  /** The exec's id, unique among the container's execs. */
  execId: string;
  args: string[];
  env: string[];
  user?: { uid: number; gid: number };
  workdir?: string;
  tty: boolean;
  ttySize?: TerminalSize;
  stdin: boolean;
}

export interface ExecProcess {
  pid: number;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Exit code: 128+n when killed by signal n. */
  exited: Promise<number>;
  /** After exit: why the process could not be started at all, if that is what happened. */
  startError(): string | undefined;
  resize(rows: number, cols: number): void;
  /** Ends the process if it still runs (its client went away). */
  kill(): void;
}

/**
 * A container runtime (iSulad's rt_ops). Each method takes the container's spec or its
 * persisted processes and returns plain data.
 */
export interface Runtime {
  readonly name: string;
  /** Prepares the runtime's directories and watchers, once, before any other call. */
  init(): void;
  /** Stops watching; the containers keep running. */
  close(): void;
  /**
   * At daemon start: kills and removes the runs and files of containers `known` does not
   * name (a remove the daemon was killed in); returns their ids. `cgroupOf` names an id's cgroup.
   */
  sweepOrphans(known: (id: string) => boolean, cgroupOf: (id: string) => string): Promise<string[]>;
  /** Names among `--cap-add`/`--cap-drop` (any case, CAP_ prefix or not) the runtime does not know; ALL is known. */
  unknownCaps(names: string[]): string[];
  /** Where the runtime records exit codes, one file per container id; the supervisor watches it. */
  readonly exitsDir: string;
  /** The exit code recorded for `id`, if its container has exited. */
  recordedExit(id: string): number | undefined;
  /**
   * Tells `listener` of an init's exit as soon as the runtime learns it, while its helper is
   * still tearing down (the record in `exitsDir` follows when the helper is done).
   */
  onInitExit(listener: (id: string, code: number) => void): void;
  /** Whether a run's helper (its `shimPid` and `shimStartTime`) ends within `timeoutMs`. */
  helperEnded(helper: { pid: number; startTime: number }, timeoutMs: number): Promise<boolean>;
  /** Undefined when the runtime can be used here, else why not. */
  detect(): Promise<string | undefined>;
  /**
   * The runtime's own configuration of the container: checked and made now (throws what the
   * runtime cannot express), written once `committed` resolves (the create's records are
   * durable); nothing is written if it rejects.
   */
  create(spec: RuntimeSpec, committed: Promise<unknown>): void;
  /** `ttySize` is the client's terminal size for a container with a terminal (-t). */
  start(spec: RuntimeSpec, stdin: Readable | undefined, ttySize?: TerminalSize): Promise<{ started: StartedContainer; io: ContainerIo }>;
  /**
   * Re-opens the output of a container that kept running while the daemon was away, and
   * watches its helper again; `stdin` feeds the container's stdin if it is still open.
   */
  reattach(id: string, started: StartedContainer, stdin?: Readable): ContainerIo;
  kill(started: StartedContainer, signal: NodeJS.Signals | number): void;
  /** SIGKILL to every process in the container's cgroup, thawing it if frozen. */
  killAll(spec: RuntimeSpec): Promise<void>;
  pause(spec: RuntimeSpec): Promise<void>;
  resume(spec: RuntimeSpec): Promise<void>;
  exec(spec: RuntimeSpec, options: ExecOptions): ExecProcess;
  listPids(spec: RuntimeSpec): number[];
  update(spec: RuntimeSpec, resources: ResourceSpec): Promise<void>;
  resize(started: StartedContainer, rows: number, cols: number): Promise<void>;
  /** Releases what one run of the container held on the host (mounts, cgroups), once it exited. */
  stopped(spec: RuntimeSpec): Promise<void>;
  /** At restore, for a container whose record is not running: kills and releases any run it still has; true if one was found. */
  reclaim(spec: RuntimeSpec): Promise<boolean>;
  /** What the container holds on the host, for the garbage collector to release. */
  hostResources(spec: RuntimeSpec): { cgroupPath: string; monitorCgroupPath: string; mounts: string[]; stateDirs: string[] };
  /**
   * The garbage collector's kill of what a container left (its `hostResources`): SIGKILL to
   * its cgroup, which is thawed if frozen but never waited for (a parent frozen by someone
   * else keeps it frozen), and to its helper `shim` if still alive, so that zombies get reaped.
   */
  killLeftovers(resources: { cgroupPath: string; monitorCgroupPath: string }, shim: { pid: number; startTime: number }): void;
  /** Removes what the runtime made for a container: its config, state, and cgroups. */
  cleanup(spec: RuntimeSpec): Promise<void>;
}
