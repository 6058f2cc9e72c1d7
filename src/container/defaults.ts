/** Engine-wide defaults the verbs need, from the daemon's configuration. */
export interface ContainerDefaults {
  /** Parent cgroup of containers, e.g. isulad. */
  cgroupParent: string;
  defaultRuntime: string;
  logMaxBytes: number;
  logMaxFiles: number;
  /** The daemon's --hook-spec: OCI hooks for containers created without their own. */
  hookSpec: string | undefined;
}
