/**
 * OCI images as a container's image: each container gets a writable layer over the image's
 * layers (overlay2, or a copy with vfs), made at create, mounted at its first start (or
 * export, or a create that must read the image's users) and kept mounted until rm.
 */
import { generalError, imageNotFound } from '../../api/errors.js';
import type { ImageBackend, ImageConfig, ResolvedImage } from '../image.js';
import type { OciStorePort, ReferencePort, StoredImage } from './ports.js';
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, platformMatches } from './registry/manifest.js';
import type { ImageConfigFile, Platform } from './types.js';

const ID_RE = /^(sha256:)?[0-9a-f]{4,64}$/;

/**
 * An image named by the user: a name (normalized: `busybox` is docker.io/library/busybox:latest),
 * `name@sha256:...`, or an id or unique id prefix, as Docker looks them up.
 */
export function findImage(store: OciStorePort, refs: ReferencePort, text: string): StoredImage | undefined {
  let byName: StoredImage | undefined;
  try {
    byName = store.getImage(refs.format(refs.parse(text)));
  } catch {
    // not a valid reference: maybe an id
  }
  if (byName) return byName;
  return ID_RE.test(text) ? store.getImage(text) : undefined;
}

/** The image's config blob as stored (checked against its digest when it was added). */
export async function readImageConfig(store: OciStorePort, image: StoredImage): Promise<ImageConfigFile> {
  const bytes = await store.imageConfig(image.id);
  try {
    return JSON.parse(bytes.toString('utf8')) as ImageConfigFile;
  } catch {
    throw generalError(`The stored config of image ${image.id} is not valid JSON`);
  }
}

/** The image config's container defaults in the engine's terms. */
export function imageConfigOf(config: ImageConfigFile): ImageConfig {
  const c = config.config ?? {};
  return {
    env: [...(c.Env ?? [])],
    entrypoint: [...(c.Entrypoint ?? [])],
    cmd: [...(c.Cmd ?? [])],
    workdir: c.WorkingDir ?? '',
    ...(c.User ? { user: c.User } : {}),
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
    ...(c.Healthcheck ? { healthcheck: c.Healthcheck } : {}),
    ...(c.Labels ? { labels: c.Labels } : {}),
    ...(c.ExposedPorts ? { exposedPorts: c.ExposedPorts } : {}),
    ...(c.Volumes ? { volumes: c.Volumes } : {}),
  };
}

export class OciImageBackend implements ImageBackend {
  readonly kind = 'oci' as const;

  constructor(
    private readonly store: OciStorePort,
    private readonly refs: ReferencePort,
  ) {}

  /**
   * iSulad asks the OCI back-end first; here an --external-rootfs wins (its image is only a
   * config image, which this engine does not take from OCI images), and an OCI image wins over
   * an embedded image of the same name.
   */
  detect(image: string, externalRootfs: string | undefined): boolean {
    return externalRootfs === undefined && findImage(this.store, this.refs, image) !== undefined;
  }

  async resolve(image: string, _externalRootfs?: string, platform?: string): Promise<ResolvedImage> {
    const found = findImage(this.store, this.refs, image);
    if (!found) throw imageNotFound(`No such image: ${image}`);
    const config = await readImageConfig(this.store, found);
    const have: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    const warnings: string[] = [];
    // Docker's rules: a --platform the local image does not have is "not found" (the client
    // pulls that platform); without --platform another arch is created, with a warning (its
    // programs may then fail at exec: "exec format error").
    if (platform !== undefined) {
      const want = parsePlatform(platform);
      if (!platformMatches(have, want)) {
        throw imageNotFound(
          `image with reference ${image} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(normalizePlatform(have))}`,
        );
      }
    } else if (!platformMatches(have, hostPlatform())) {
      warnings.push(
        `The requested image's platform (${formatPlatform(normalizePlatform(have))}) does not match the detected host platform (${formatPlatform(hostPlatform())}) and no specific platform was requested`,
      );
    }
    return {
      // As Docker: the container shows the image as the user named it.
      name: image,
      type: 'oci',
      id: found.id,
      rootfs: { kind: 'dir', path: '' },
      mounts: [],
      config: imageConfigOf(config),
      userDbRoot: '',
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }

  /** Not mounted here: the first start (or an export) mounts it, as iSulad mounts in do_start_container. */
  async createRootfs(containerId: string, image: ResolvedImage): Promise<string> {
    await this.store.createContainerLayer(containerId, image.id!);
    return this.store.rootfsPath(containerId);
  }

  rootfsOf(containerId: string): string {
    return this.store.rootfsPath(containerId);
  }

  hasRootfs(containerId: string): boolean {
    return this.store.containerLayer(containerId) !== undefined;
  }

  mountRootfs(containerId: string): Promise<string> {
    return this.store.mount(containerId);
  }

  removeRootfs(containerId: string): Promise<void> {
    return this.store.removeContainerLayer(containerId);
  }
}
