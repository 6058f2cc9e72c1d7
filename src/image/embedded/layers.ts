/**
 * The file-system half of the layer checks (lim.c, validate_layer_host_files): what each layer's
 * pathInHost names must exist and be of the kind its mediaType says.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type EmbeddedLayer, LAYER_DIR, invalidManifest } from './schema.js';
import { describePath, isInside, isNotFound } from './paths.js';
import { sha256File } from './signature.js';

/** A layer above the rootfs, ready to become a read-only mount. */
export interface ResolvedLayer {
  type: 'squashfs' | 'dir';
  /** Absolute real path of the image file or directory. */
  hostPath: string;
  containerPath: string;
  /** Size on disk (stat), not the manifest's size field, which iSulad never uses. */
  size: number;
  /** The manifest's digest, '' when it gave none. */
  digest: string;
}

/** Layer 0: the real path of its block device, or '/' for the host-root (bind.dir) kind. */
export async function resolveRootfs(layer: EmbeddedLayer): Promise<string> {
  const real = await realpathOf(layer.pathInHost, 'layers[0].pathInHost');
  const st = await fs.stat(real);
  if (layer.mediaType === LAYER_DIR ? !st.isDirectory() : !st.isBlockDevice()) {
    const kind = layer.mediaType === LAYER_DIR ? 'a directory' : 'a block device';
    throw invalidManifest(`layers[0].pathInHost ${describePath(layer.pathInHost)} is not ${kind}`);
  }
  return real;
}

/**
 * Layers 1..n: pathInHost is relative to the manifest's directory and may not leave it, neither
 * by `..` nor through a symlink: what the path finally names must lie in that directory, so an
 * image cannot make the engine mount (or hash) an arbitrary file of the host. Symlinks that stay
 * inside are fine.
 */
export async function resolveLayer(layer: EmbeddedLayer, index: number, manifestDir: string): Promise<ResolvedLayer> {
  const at = `layers[${index}]`;
  if (!isInside(manifestDir, path.resolve(manifestDir, layer.pathInHost))) {
    throw invalidManifest(`${at}.pathInHost ${JSON.stringify(layer.pathInHost)} leaves the manifest directory ${describePath(manifestDir)}`);
  }
  // realpath gets the join as written, so a trailing '/' on a file still fails as it does in iSulad.
  const hostPath = await realpathOf(`${manifestDir}/${layer.pathInHost}`, `${at}.pathInHost`);
  if (!isInside(manifestDir, hostPath)) {
    throw invalidManifest(
      `${at}.pathInHost ${JSON.stringify(layer.pathInHost)} leads through a symlink to ${describePath(hostPath)}, outside the manifest directory ${describePath(manifestDir)}`,
    );
  }
  const st = await fs.stat(hostPath);
  const type = layer.mediaType === LAYER_DIR ? 'dir' : 'squashfs';
  if (type === 'dir' ? !st.isDirectory() : !st.isFile()) {
    throw invalidManifest(`${at}.pathInHost ${describePath(hostPath)} is not ${type === 'dir' ? 'a directory' : 'a regular file'}`);
  }
  if (layer.digest !== '' && (await sha256File(hostPath)) !== layer.digest) {
    throw invalidManifest(`${at}.digest does not match the sha256 of ${describePath(hostPath)}`);
  }
  return { type, hostPath, containerPath: layer.pathInContainer, size: st.size, digest: layer.digest };
}

async function realpathOf(p: string, field: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (err) {
    if (isNotFound(err)) throw invalidManifest(`${field} ${describePath(p)} does not exist`);
    throw invalidManifest(`${field} ${describePath(p)} cannot be resolved: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
