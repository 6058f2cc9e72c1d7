/**
 * Reads image archives, as `docker save` and `skopeo copy ... docker-archive:/oci-archive:`
 * write them, into `ImageSource`s the store can add:
 * - docker-archive: `manifest.json` ([{Config, RepoTags, Layers}]), the config as a member,
 *   each layer a member (plain tar or gzip; legacy `<id>/layer.tar`, possibly a symlink to
 *   another image's, or Docker 25's `blobs/sha256/<hex>`);
 * - oci-archive: `oci-layout`, `index.json` whose descriptors (and nested indexes: the
 *   host's platform is picked) lead to manifests, configs and layers in `blobs/<alg>/<hex>`.
 * Several images, each with several names, per archive. Nothing is extracted: layers are
 * streamed from their place in the archive, through a check of their digest and size.
 * Everything in the archive is checked before the caller adds anything: JSON documents are
 * bounded, every referenced member must exist, configs and blobs match their digests, and a
 * plain-tar layer of a docker-archive is hashed up front against its diff_id.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Descriptor, ImageConfigFile, ImageSource, LayerSource, Platform } from '../types.js';
import { digestStream, isDigest, sha256Of, verified } from './digest.js';
import { CONTAINERD_NAME, hostArchitecture, INDEX_TYPES, LAYER_TYPES, layerTypeOf, MANIFEST_TYPES, MT, REF_NAME } from './media.js';
import { ArchiveError, TarArchive, type TarMember } from './tar-index.js';

/** manifest.json, index.json, manifests, indexes and configs: iSulad's and the registry client's limit. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Images (manifest.json entries or index.json descriptors) in one archive. */
export const MAX_ARCHIVE_IMAGES = 1000;

export interface ArchiveImage {
  /** `sha256:<hex>` of the config bytes: the image id. */
  id: string;
  source: ImageSource;
  /** Names as the archive gives them (RepoTags, ref names), not yet normalized. */
  names: string[];
}

export interface OpenedArchive {
  format: 'docker-archive' | 'oci-archive';
  images: ArchiveImage[];
  /** Closes the archive; layer streams must be finished before. */
  close(): Promise<void>;
}

/** Free space a decompressed archive must leave on the daemon's disk. */
const MIN_FREE_BYTES = 512 * 1024 * 1024;

/**
 * A gzip-compressed archive (`docker save | gzip`, which `docker load` takes) is decompressed
 * into `tmpDir` first, as the index needs a file to seek in; stopped before the disk's free
 * space goes under MIN_FREE_BYTES. The temp file is unlinked once opened.
 */
async function decompressed(file: string, tmpDir: string): Promise<string | undefined> {
  const head = Buffer.alloc(2);
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    await fh.read(head, 0, 2, 0);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
    fs.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
    const st = await fs.promises.statfs(tmpDir);
    const budget = st.bavail * st.bsize - MIN_FREE_BYTES;
    const out = path.join(tmpDir, `load-${process.pid}-${randomBytes(6).toString('hex')}.tar`);
    let written = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _e, cb) {
        written += chunk.length;
        cb(written > budget ? new ArchiveError(`the decompressed archive would leave less than ${MIN_FREE_BYTES} bytes free on the disk`) : null, chunk);
      },
    });
    try {
      await pipeline(fh.createReadStream({ start: 0, autoClose: false }), createGunzip(), limit, fs.createWriteStream(out, { mode: 0o600 }));
    } catch (e) {
      fs.rmSync(out, { force: true });
      throw e instanceof ArchiveError ? e : new ArchiveError(`the archive is not valid gzip: ${(e as Error).message}`);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Opens `file` (a tar, or a gzip of one) and reads every image in it; throws ArchiveError naming what is wrong. */
export async function readImageArchive(file: string, tmpDir?: string): Promise<OpenedArchive> {
  const plain = tmpDir ? await decompressed(file, tmpDir) : undefined;
  let ar: TarArchive;
  try {
    ar = await TarArchive.open(plain ?? file);
  } finally {
    if (plain) fs.rmSync(plain, { force: true });
  }
  try {
    if (ar.members.has('manifest.json')) return { format: 'docker-archive', images: await readDockerArchive(ar), close: () => ar.close() };
    if (ar.members.has('oci-layout')) return { format: 'oci-archive', images: await readOciArchive(ar), close: () => ar.close() };
    throw new ArchiveError('neither a docker-archive (no manifest.json) nor an oci-archive (no oci-layout)');
  } catch (e) {
    await ar.close();
    throw e;
  }
}

async function readJson(ar: TarArchive, m: TarMember, what: string): Promise<{ bytes: Buffer; value: unknown }> {
  const bytes = await ar.readSmall(m, MAX_JSON_BYTES);
  try {
    return { bytes, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    throw new ArchiveError(`${what} is not valid JSON`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Checks the parts of an image config the engine relies on. */
export function parseImageConfig(bytes: Buffer, what: string): ImageConfigFile {
  const v = parseBlobJson(bytes, what);
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw new ArchiveError(`${what}: rootfs must be {"type": "layers", "diff_ids": [sha256 digests]}`);
  }
  if (v.config !== undefined && v.config !== null && !isObject(v.config)) throw new ArchiveError(`${what}: config is not an object`);
  return { ...(v as unknown as ImageConfigFile), architecture: String(v.architecture ?? ''), os: String(v.os ?? '') };
}

function member(ar: TarArchive, name: string, what: string): TarMember {
  const m = ar.resolve(name);
  if (!m) throw new ArchiveError(`${what} (${name}) is missing from the archive`);
  return m;
}

async function head(ar: TarArchive, m: TarMember): Promise<Buffer> {
  return ar.readSmall({ ...m, size: Math.min(m.size, 4) }, 4);
}

function mergeImage(byId: Map<string, ArchiveImage>, image: ArchiveImage): void {
  const prev = byId.get(image.id);
  if (!prev) byId.set(image.id, image);
  else for (const n of image.names) if (!prev.names.includes(n)) prev.names.push(n);
}

function ociManifest(configDigest: string, configSize: number, layers: Descriptor[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configDigest, size: configSize },
      layers: layers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
    }),
  );
}

async function readDockerArchive(ar: TarArchive): Promise<ArchiveImage[]> {
  const { value } = await readJson(ar, member(ar, 'manifest.json', 'manifest.json'), 'manifest.json');
  if (!Array.isArray(value) || value.length === 0) throw new ArchiveError('manifest.json lists no image');
  if (value.length > MAX_ARCHIVE_IMAGES) throw new ArchiveError(`manifest.json lists more than ${MAX_ARCHIVE_IMAGES} images`);
  const byId = new Map<string, ArchiveImage>();
  // One layer member may serve several images: hash it once.
  const layerDescs = new Map<string, Promise<Descriptor>>();
  const describe = (m: TarMember): Promise<Descriptor> => {
    let p = layerDescs.get(m.name);
    if (!p) {
      p = (async () => {
        const mediaType = layerTypeOf(await head(ar, m));
        const { digest, size } = await digestStream(ar.stream(m));
        return { mediaType, digest, size };
      })();
      layerDescs.set(m.name, p);
    }
    return p;
  };
  for (const [i, entry] of value.entries()) {
    const what = `manifest.json entry ${i}`;
    if (!isObject(entry) || typeof entry.Config !== 'string' || !isStringArray(entry.Layers)) {
      throw new ArchiveError(`${what} needs "Config" (a path) and "Layers" (a list of paths)`);
    }
    if (entry.RepoTags !== undefined && entry.RepoTags !== null && !isStringArray(entry.RepoTags))
      throw new ArchiveError(`${what}: "RepoTags" is not a list of names`);
    const configBytes = await ar.readSmall(member(ar, entry.Config, `the config of ${what}`), MAX_JSON_BYTES);
    const id = sha256Of(configBytes);
    // Docker names the config by its digest (<hex>.json, blobs/sha256/<hex>): hold it to that.
    const named = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(entry.Config);
    if (named && `sha256:${named[1]}` !== id) throw new ArchiveError(`config ${entry.Config} does not match its digest (its content is ${id})`);
    const config = parseImageConfig(configBytes, `config ${entry.Config}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) {
      throw new ArchiveError(`${what} lists ${entry.Layers.length} layers where its config has ${diffIds.length} diff_ids`);
    }
    const layers: LayerSource[] = [];
    for (const [j, name] of entry.Layers.entries()) {
      const m = member(ar, name, `layer ${j} of ${what}`);
      const descriptor = await describe(m);
      const diffId = diffIds[j]!;
      if (descriptor.mediaType === MT.ociLayer && descriptor.digest !== diffId) {
        throw new ArchiveError(`layer ${name} does not match diff_id ${diffId} of its config (its content is ${descriptor.digest})`);
      }
      layers.push({ descriptor, diffId, open: async (): Promise<Readable> => verified(ar.stream(m), descriptor.digest, descriptor.size, `layer ${name}`) });
    }
    const manifestBytes = ociManifest(
      id,
      configBytes.length,
      layers.map((l) => l.descriptor),
    );
    const names = entry.RepoTags ?? [];
    mergeImage(byId, { id, names: [...new Set(names)], source: { configBytes, config, layers, manifestBytes, manifestMediaType: MT.ociManifest } });
  }
  return [...byId.values()];
}

function checkDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v) || !isDigest(v.digest) || typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw new ArchiveError(`${what}: a descriptor needs a sha256 "digest" and a "size"`);
  }
  if (v.mediaType !== undefined && typeof v.mediaType !== 'string') throw new ArchiveError(`${what}: "mediaType" is not a string`);
  return v as unknown as Descriptor;
}

function blobMember(ar: TarArchive, d: Descriptor, what: string): TarMember {
  const [alg, hex] = d.digest.split(':');
  const m = ar.resolve(`blobs/${alg}/${hex}`);
  if (!m) throw new ArchiveError(`${what}: blob ${d.digest} is missing from the archive`);
  if (m.size !== d.size) throw new ArchiveError(`${what}: blob ${d.digest} is ${m.size} bytes, its descriptor says ${d.size}`);
  return m;
}

async function readBlob(ar: TarArchive, d: Descriptor, what: string): Promise<Buffer> {
  const bytes = await ar.readSmall(blobMember(ar, d, what), MAX_JSON_BYTES);
  if (sha256Of(bytes) !== d.digest) throw new ArchiveError(`${what}: blob ${d.digest} does not match its digest`);
  return bytes;
}

function parseBlobJson(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ArchiveError(`${what} is not valid JSON`);
  }
  if (!isObject(v)) throw new ArchiveError(`${what} is not a JSON object`);
  return v;
}

/** The names an index.json descriptor gives its image: containerd's full name, else a ref name that is one. */
function ociNames(annotations: Record<string, string> | undefined): string[] {
  const full = annotations?.[CONTAINERD_NAME];
  if (typeof full === 'string' && full) return [full];
  const ref = annotations?.[REF_NAME];
  // The spec lets a ref name be a bare tag ("latest"): that names no repository.
  return typeof ref === 'string' && ref.includes(':') ? [ref] : [];
}

const describePlatform = (p: Platform | undefined): string => (p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown');

function pickPlatform(manifests: Descriptor[], what: string): Descriptor {
  const arch = hostArchitecture();
  const fits = manifests.filter((d) => d.platform?.os === 'linux' && d.platform.architecture === arch);
  // arm64 hosts are v8; an entry without a variant fits too.
  const best = fits.find((d) => arch !== 'arm64' || !d.platform?.variant || d.platform.variant === 'v8');
  if (!best) {
    throw new ArchiveError(`${what} has no image for linux/${arch}; it has: ${manifests.map((d) => describePlatform(d.platform)).join(', ') || 'none'}`);
  }
  return best;
}

async function readOciArchive(ar: TarArchive): Promise<ArchiveImage[]> {
  const layout = (await readJson(ar, member(ar, 'oci-layout', 'oci-layout'), 'oci-layout')).value;
  if (!isObject(layout) || typeof layout.imageLayoutVersion !== 'string') throw new ArchiveError('oci-layout has no imageLayoutVersion');
  const index = (await readJson(ar, member(ar, 'index.json', 'index.json'), 'index.json')).value;
  if (!isObject(index) || !Array.isArray(index.manifests) || index.manifests.length === 0) throw new ArchiveError('index.json lists no manifest');
  if (index.manifests.length > MAX_ARCHIVE_IMAGES) throw new ArchiveError(`index.json lists more than ${MAX_ARCHIVE_IMAGES} manifests`);
  const byId = new Map<string, ArchiveImage>();
  for (const [i, raw] of index.manifests.entries()) {
    const d = checkDescriptor(raw, `index.json manifest ${i}`);
    mergeImage(byId, await readOciImage(ar, d, ociNames(d.annotations), `index.json manifest ${i}`, 0));
  }
  return [...byId.values()];
}

async function readOciImage(ar: TarArchive, d: Descriptor, names: string[], what: string, depth: number): Promise<ArchiveImage> {
  const bytes = await readBlob(ar, d, what);
  const doc = parseBlobJson(bytes, `${what} (${d.digest})`);
  const mediaType = d.mediaType ?? (typeof doc.mediaType === 'string' ? doc.mediaType : Array.isArray(doc.manifests) ? MT.ociIndex : MT.ociManifest);
  if (INDEX_TYPES.includes(mediaType)) {
    if (depth > 1 || !Array.isArray(doc.manifests)) throw new ArchiveError(`${what}: nested index ${d.digest} is not usable`);
    const manifests = doc.manifests.map((m, i) => checkDescriptor(m, `${what} index entry ${i}`));
    return readOciImage(ar, pickPlatform(manifests, `${what} (index ${d.digest})`), names, what, depth + 1);
  }
  if (!MANIFEST_TYPES.includes(mediaType)) throw new ArchiveError(`${what}: media type ${mediaType} is not an image manifest`);
  const configDesc = checkDescriptor(doc.config, `${what} config`);
  if (!Array.isArray(doc.layers)) throw new ArchiveError(`${what}: manifest ${d.digest} has no "layers"`);
  const configBytes = await readBlob(ar, configDesc, `${what} config`);
  const config = parseImageConfig(configBytes, `config ${configDesc.digest}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== doc.layers.length) {
    throw new ArchiveError(`${what}: manifest ${d.digest} has ${doc.layers.length} layers where its config has ${diffIds.length} diff_ids`);
  }
  const layers = doc.layers.map((raw, j): LayerSource => {
    const ld = checkDescriptor(raw, `${what} layer ${j}`);
    if (!ld.mediaType || !LAYER_TYPES.includes(ld.mediaType))
      throw new ArchiveError(`${what}: layer ${ld.digest} has media type ${ld.mediaType}, not a layer this engine can unpack`);
    const m = blobMember(ar, ld, `${what} layer ${j}`);
    const diffId = diffIds[j]!;
    if ((ld.mediaType === MT.ociLayer || ld.mediaType === MT.dockerLayer) && ld.digest !== diffId) {
      throw new ArchiveError(`${what}: uncompressed layer ${ld.digest} does not match diff_id ${diffId} of its config`);
    }
    const descriptor: Descriptor = { mediaType: ld.mediaType, digest: ld.digest, size: ld.size };
    return { descriptor, diffId, open: async () => verified(ar.stream(m), ld.digest, ld.size, `layer ${ld.digest}`) };
  });
  const id = sha256Of(configBytes);
  return { id, names: [...names], source: { configBytes, config, layers, manifestBytes: bytes, manifestMediaType: mediaType } };
}
