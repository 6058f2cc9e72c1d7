import type { MountSpec } from '../api/containers.js';

/** What an image contributes to a container's configuration (iSulad merges these at create). */
export interface ImageConfig {
  env: string[];
  entrypoint: string[];
  workdir: string;
}

/** The result of resolving `IMAGE` / `--external-rootfs` at create time. */
export interface ResolvedImage {
  /** Shown as the container's image: a name:tag, or `none` for a bare external rootfs. */
  name: string;
  type: 'external' | 'embedded';
  /** Root filesystem: a directory or a block device. */
  rootfs: { kind: 'dir' | 'block'; path: string };
  /** Read-only layers mounted before the user's own mounts. */
  mounts: MountSpec[];
  config: ImageConfig;
  /** Directory whose etc/passwd and etc/group name users for -u. */
  userDbRoot: string;
}

/** An image back-end (iSulad's bim_ops), picked by `detect()` in iSulad's order. */
export interface ImageBackend {
  readonly kind: ResolvedImage['type'];
  detect(image: string, externalRootfs: string | undefined): boolean;
  resolve(image: string, externalRootfs: string | undefined): Promise<ResolvedImage>;
}
