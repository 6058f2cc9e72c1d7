/**
 * Embedded images as a container's image (src/daemon/modules/image/embedded/embedded_image.c):
 * layer 0 is the rootfs itself (a block device the runtime mounts, or the host's '/'), with no
 * overlay and no writable layer; layers 1..n become read-only mounts ahead of the user's own.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MountSpec } from '../../api/containers.js';
import { generalError, imageNotFound } from '../../api/errors.js';
import type { ImageBackend, ResolvedImage } from '../image.js';
import { describePath, isInside, isNotFound } from './paths.js';
import { type EmbeddedLayer, type EmbeddedManifest, LAYER_DIR, validateManifest } from './schema.js';
import type { EmbeddedImageRecord, EmbeddedImageStore } from './store.js';

export class EmbeddedImageBackend implements ImageBackend {
  readonly kind = 'embedded' as const;

  constructor(private readonly store: EmbeddedImageStore) {}

  /** bim_query order puts external before embedded, so an --external-rootfs always wins. */
  detect(image: string, externalRootfs: string | undefined): boolean {
    return externalRootfs === undefined && this.store.get(image) !== undefined;
  }

  /**
   * Re-reads the manifest kept at load time; the layers' digests were checked then and are not
   * hashed again, but every path is resolved afresh since files may have moved since.
   */
  async resolve(image: string): Promise<ResolvedImage> {
    const record = this.store.get(image);
    if (!record) throw imageNotFound(`No such image: ${image}`);
    const manifest = storedManifest(record);
    const dir = path.dirname(record.manifestPath);
    const mounts: MountSpec[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      if (i > 0) mounts.push(await layerMount(record, layer, i, dir));
    }
    return {
      name: record.name,
      type: 'embedded',
      rootfs: await rootfsOf(record, manifest.layers[0]),
      mounts,
      config: {
        env: [...(manifest.config.ENV ?? [])],
        entrypoint: [...(manifest.config.ENTRYPOINT ?? [])],
        workdir: manifest.config.WORKDIR ?? '',
      },
      // Users of embedded images are looked up in the host's passwd and group files.
      userDbRoot: '/',
    };
  }
}

/** What `isula inspect IMAGE` shows for an embedded image: the manifest as loaded. */
export function inspectEmbeddedImage(record: EmbeddedImageRecord): unknown {
  try {
    return JSON.parse(record.manifestText) as unknown;
  } catch {
    throw generalError(`Stored manifest of embedded image ${record.name} is not valid JSON`);
  }
}

function storedManifest(record: EmbeddedImageRecord): EmbeddedManifest {
  // The schema check needs no file system, and gives typed fields with defaults filled in.
  const value = inspectEmbeddedImage(record);
  try {
    return validateManifest(value);
  } catch (err) {
    throw generalError(`Stored manifest of embedded image ${record.name} is invalid: ${(err as Error).message}`);
  }
}

async function rootfsOf(record: EmbeddedImageRecord, layer: EmbeddedLayer): Promise<ResolvedImage['rootfs']> {
  if (layer.mediaType === LAYER_DIR) return { kind: 'dir', path: '/' };
  const device = await realExisting(record, layer.pathInHost, 'rootfs device');
  const st = await fs.stat(device);
  if (!st.isBlockDevice()) {
    throw generalError(`Rootfs device ${describePath(layer.pathInHost)} of embedded image ${record.name} is not a block device`);
  }
  return { kind: 'block', path: device };
}

async function layerMount(record: EmbeddedImageRecord, layer: EmbeddedLayer, index: number, dir: string): Promise<MountSpec> {
  // Joined as written, like the load-time check, so a trailing '/' on a file fails the same way.
  const source = await realExisting(record, `${dir}/${layer.pathInHost}`, `layer ${index}`);
  // Checked again as at load: a symlink may have been put there since.
  if (!isInside(dir, source)) {
    throw generalError(
      `Layer ${index} ${describePath(layer.pathInHost)} of embedded image ${record.name} leads to ${describePath(source)}, outside the manifest directory ${describePath(dir)}`,
    );
  }
  const st = await fs.stat(source);
  const isDir = layer.mediaType === LAYER_DIR;
  if (isDir ? !st.isDirectory() : !st.isFile()) {
    throw generalError(`Layer ${index} ${describePath(source)} of embedded image ${record.name} is not ${isDir ? 'a directory' : 'a regular file'}`);
  }
  return isDir
    ? { type: 'bind', source, destination: layer.pathInContainer, readOnly: true, propagation: 'rprivate' }
    : { type: 'squashfs', source, destination: layer.pathInContainer, readOnly: true };
}

async function realExisting(record: EmbeddedImageRecord, p: string, what: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (err) {
    const why = isNotFound(err) ? 'no longer exists' : `cannot be resolved: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    throw generalError(`${capitalize(what)} ${describePath(p)} of embedded image ${record.name} ${why}`);
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
