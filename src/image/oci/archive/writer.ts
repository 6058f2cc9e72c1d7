/**
 * Writes images as a docker-archive in Docker 25's layout, which is at once an OCI image
 * layout: `blobs/sha256/<hex>` for uncompressed layers, configs and OCI manifests,
 * `manifest.json` ([{Config, RepoTags, Layers}]) for `docker load` and skopeo's
 * docker-archive, `index.json` and `oci-layout` for OCI readers, and the legacy
 * `repositories`. Layers are the store's uncompressed tars, byte for byte, so the diff_ids
 * and the image id survive a save and load; each is checked against its diff_id as it goes
 * out. Every member name is short (under 100 bytes): plain ustar headers suffice.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ImageConfigFile } from '../types.js';
import { sha256Of } from './digest.js';
import { CONTAINERD_NAME, MT, REF_NAME } from './media.js';

export interface SaveLayer {
  diffId: string;
  /** The uncompressed tar's size, as the store recorded it. */
  size: number;
  open(): Promise<Readable>;
}

export interface SaveImage {
  configBytes: Buffer;
  config: ImageConfigFile;
  /** Bottom to top, as config.rootfs.diff_ids. */
  layers: SaveLayer[];
  /** Names to record: full (`docker.io/library/busybox:latest`) and familiar (`busybox:latest`). */
  names: { full: string; familiar: string }[];
}

const BLOCK = 512;
const ZERO = Buffer.alloc(BLOCK * 2);
/** Fixed member times: the same images give the same archive. */
const MTIME = 0;

/** A ustar header (names under 100 bytes, owner 0:0). */
export function ustarHeader(name: string, size: number, type: 'file' | 'dir' | 'symlink', linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(type === 'dir' ? '0000755\0' : '0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  h.write(`${MTIME.toString(8).padStart(11, '0')}\0`, 136, 'ascii');
  h.write(type === 'dir' ? '5' : type === 'symlink' ? '2' : '0', 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

function* smallFile(name: string, data: Buffer): Generator<Buffer> {
  yield ustarHeader(name, data.length, 'file');
  yield data;
  yield padding(data.length);
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

/** A layer's member: its bytes checked against its diff_id and size as they go out. */
async function* layerMember(layer: SaveLayer): AsyncGenerator<Buffer> {
  yield ustarHeader(`blobs/sha256/${hexOf(layer.diffId)}`, layer.size, 'file');
  const src = await layer.open();
  const hash = createHash('sha256');
  let seen = 0;
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > layer.size) break;
      hash.update(chunk);
      yield chunk;
    }
  } finally {
    src.destroy();
  }
  const got = `sha256:${hash.digest('hex')}`;
  if (seen !== layer.size || got !== layer.diffId) {
    throw new Error(
      `layer ${layer.diffId} in the store is damaged: its tar is ${seen === layer.size ? '' : 'over '}${seen} bytes (${layer.size} recorded) with digest ${got}`,
    );
  }
  yield padding(layer.size);
}

const splitName = (familiar: string): [string, string] => {
  const at = familiar.lastIndexOf(':');
  return at > familiar.lastIndexOf('/') ? [familiar.slice(0, at), familiar.slice(at + 1)] : [familiar, 'latest'];
};

/** The archive's bytes, generated as they are read. */
export async function* writeDockerArchive(images: SaveImage[]): AsyncGenerator<Buffer> {
  yield ustarHeader('blobs/', 0, 'dir');
  yield ustarHeader('blobs/sha256/', 0, 'dir');
  const sizes = new Map<string, number>();
  const written = new Set<string>();
  for (const image of images) {
    for (const layer of image.layers) {
      if (sizes.has(layer.diffId)) continue;
      yield* layerMember(layer);
      sizes.set(layer.diffId, layer.size);
    }
  }
  const manifestJson: unknown[] = [];
  const indexEntries: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const configDigest = sha256Of(image.configBytes);
    if (!written.has(configDigest)) {
      written.add(configDigest);
      yield* smallFile(`blobs/sha256/${hexOf(configDigest)}`, image.configBytes);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: configDigest, size: image.configBytes.length },
        layers: image.layers.map((l) => ({ mediaType: MT.ociLayer, digest: l.diffId, size: sizes.get(l.diffId) })),
      }),
    );
    const manifestDigest = sha256Of(manifest);
    if (!written.has(manifestDigest)) {
      written.add(manifestDigest);
      yield* smallFile(`blobs/sha256/${hexOf(manifestDigest)}`, manifest);
    }
    manifestJson.push({
      Config: `blobs/sha256/${hexOf(configDigest)}`,
      RepoTags: image.names.length > 0 ? image.names.map((n) => n.familiar) : null,
      Layers: image.layers.map((l) => `blobs/sha256/${hexOf(l.diffId)}`),
    });
    const descriptor = { mediaType: MT.ociManifest, digest: manifestDigest, size: manifest.length };
    if (image.names.length === 0) indexEntries.push(descriptor);
    for (const n of image.names) {
      indexEntries.push({ ...descriptor, annotations: { [CONTAINERD_NAME]: n.full, [REF_NAME]: splitName(n.full)[1] } });
      const top = image.layers.at(-1);
      const [repo, tag] = splitName(n.familiar);
      if (top) (repositories[repo] ??= {})[tag] = hexOf(top.diffId);
    }
  }
  yield* smallFile('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: indexEntries })));
  yield* smallFile('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
  yield* smallFile('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  if (Object.keys(repositories).length > 0) yield* smallFile('repositories', Buffer.from(JSON.stringify(repositories)));
  yield ZERO;
}
