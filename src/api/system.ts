/** Messages of isulad.SystemService. */

export interface VersionInfo {
  version: string;
  apiVersion: string;
  gitCommit: string;
  buildTime: string;
  nodeVersion: string;
  os: string;
  arch: string;
}

export type VersionRequest = Record<string, never>;
export type VersionResponse = VersionInfo & { kernel: string; rootDir: string };

export interface HostFacts {
  cpus: number;
  cpuModel: string;
  memTotalBytes: number;
  operatingSystem: string;
  osVersion: string;
  kernelVersion: string;
  architecture: string;
  hostname: string;
}

export interface CgroupFacts {
  /** `v1`, `v2`, or `hybrid` (v1 controllers plus a cgroup2 mount without them). */
  version: string;
  controllers: string[];
}

export interface KernelFeatures {
  overlay: boolean;
  squashfs: boolean;
  loop: boolean;
  userNamespaces: boolean;
  freezer: boolean;
  pids: boolean;
  memory: boolean;
  memsw: boolean;
  cpu: boolean;
  cpuset: boolean;
  files: boolean;
}

export interface GcLeftover {
  id: string;
  name: string;
  since: string;
  processes: { pid: number; state: string; wchan: string }[];
}

export type InfoRequest = Record<string, never>;
export interface InfoResponse {
  host: HostFacts;
  engine: {
    serverVersion: string;
    rootDir: string;
    stateDir: string;
    defaultRuntime: string;
    runtimes: string[];
    storageDriver: string;
    logDriver: string;
    logLevel: string;
    cgroup: CgroupFacts;
    kernel: KernelFeatures;
  };
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  gc: GcLeftover[];
}
