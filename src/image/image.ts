import type { MountSpec } from '../api/containers.js';

/** A health check as an image gives it (Docker's image config: durations in nanoseconds). */
export interface ImageHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** What an image contributes to a container's configuration (merged at create, as Docker does). */
export interface ImageConfig {
  env: string[];
  entrypoint: string[];
  /** The image's default command, used when the user gives none and no --entrypoint. */
  cmd?: string[];
  workdir: string;
  user?: string;
  stopSignal?: string;
  healthcheck?: ImageHealthcheck;
  labels?: Record<string, string>;
  /** Recorded in the container's config for later issues (ports, volumes); not acted on yet. */
  exposedPorts?: Record<string, object>;
  volumes?: Record<string, object>;
}

export type ImageKind = 'external' | 'embedded' | 'oci';

/** The result of resolving `IMAGE` / `--external-rootfs` at create time. */
export interface ResolvedImage {
  /** Shown as the container's image: a name:tag, or `none` for a bare external rootfs. */
  name: string;
  type: ImageKind;
  /** The image's id (`sha256:...`) when the kind has one (OCI). */
  id?: string;
  /**
   * Root filesystem: a directory or a block device. For kinds with a rootfs per container
   * (OCI) this is empty until `createRootfs` made it.
   */
  rootfs: { kind: 'dir' | 'block'; path: string };
  /** Read-only layers mounted before the user's own mounts. */
  mounts: MountSpec[];
  config: ImageConfig;
  /** Directory whose etc/passwd and etc/group name users for -u (after createRootfs for OCI). */
  userDbRoot: string;
  /** Shown to the user by the client (`WARNING: ...`), as Docker's create warnings. */
  warnings?: string[];
}

/**
 * An image back-end (iSulad's bim_ops), picked by `detect()` in the daemon's order. The
 * rootfs methods exist for kinds that give every container a rootfs of its own (OCI: a
 * writable layer over the image's, mounted with overlay); the others share the image's.
 */
export interface ImageBackend {
  readonly kind: ImageKind;
  detect(image: string, externalRootfs: string | undefined): boolean;
  /** `platform` (`os/arch[/variant]`, `--platform`): an image of another platform is not found (the client then pulls that platform). */
  resolve(image: string, externalRootfs: string | undefined, platform?: string): Promise<ResolvedImage>;
  /**
   * At create, while the record is written: makes the container's rootfs (not mounted yet),
   * durably; returns its directory, the one `rootfsOf` names.
   */
  createRootfs?(containerId: string, image: ResolvedImage): Promise<string>;
  /** Where createRootfs makes the container's rootfs, known before it is made. */
  rootfsOf?(containerId: string): string;
  /**
   * At daemon start: whether createRootfs finished for the container. A record naming a rootfs
   * that was never made is a create the daemon was killed in.
   */
  hasRootfs?(containerId: string): boolean;
  /** Before a start (or a create that reads its users): mounts the rootfs unless it is; returns its directory. */
  mountRootfs?(containerId: string): Promise<string>;
  /** At rm, after the record is gone: unmounts and deletes the container's rootfs. */
  removeRootfs?(containerId: string): Promise<void>;
}
