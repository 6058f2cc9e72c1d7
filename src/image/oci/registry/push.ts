/**
 * Push (distribution spec "Pushing blobs" / "Pushing manifests"): each layer is gzipped to a
 * temporary file first, its compressed digest and size computed on the way; a blob the
 * registry has already (HEAD 200) is not sent; otherwise POST an upload and PUT the file with
 * `?digest=` (a monolithic upload with a Content-Length, which every registry takes). Then the
 * config blob, then a Docker schema 2 manifest under the tag.
 *
 * Why a temporary file and not a chunked PATCH straight from gzip: the compressed digest is
 * known before anything is sent, so a layer the registry has is skipped without uploading
 * it, the PUT carries a Content-Length, and a refused token can be renewed and the upload
 * sent again from the file. It costs disk for one layer at a time per concurrent upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { generalError, invalidArgs } from '../../../api/errors.js';
import { familiarReference } from '../reference.js';
import type { Descriptor, ImageRef } from '../types.js';
import type { Credentials } from './auth.js';
import type { RegistryClient } from './client.js';
import { discard } from './http.js';
import { MediaType } from './manifest.js';
import type { Session } from './session.js';
import { sha256Digest } from './verify.js';

export interface PushLayer {
  /** The digest of the uncompressed tar (rootfs.diff_ids[i]); checked while compressing. */
  diffId: string;
  /** The layer's gzip blob as a registry already knows it (from its pull): skipped if there. */
  compressed?: Descriptor;
  /** The uncompressed tar. */
  open(): Promise<Readable> | Readable;
}

export interface PushOptions {
  configBytes: Buffer;
  layers: PushLayer[];
  auth?: Credentials;
  signal?: AbortSignal;
  /** Where the gzipped layers wait for upload (iSulad: `<graph>/isulad_tmpdir`). */
  tmpDir?: string;
  /** Per-layer progress in `docker push`'s words. */
  onProgress?: (p: { layer: number; digest?: string; status: 'Preparing' | 'Layer already exists' | 'Pushing' | 'Pushed' }) => void;
}

export interface PushResult {
  manifestDigest: string;
  manifestBytes: Buffer;
}

/** Hashes and counts what passes. */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

const GZIP_TYPES: ReadonlySet<string> = new Set([MediaType.dockerLayerGzip, MediaType.ociLayerGzip]);

async function blobExists(s: Session, repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
  const res = await s.send(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD', scope: `repository:${repository}:pull,push`, signal });
  discard(res);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await s.fail(res, `checking blob ${digest} of ${repository}`);
}

/** POST an upload session, then PUT the whole blob to it. */
async function upload(s: Session, repository: string, digest: string, body: () => Buffer | Readable, size: number, signal?: AbortSignal): Promise<void> {
  const scope = `repository:${repository}:pull,push`;
  const post = await s.send(`/v2/${repository}/blobs/uploads/`, { method: 'POST', scope, signal, body: Buffer.alloc(0) });
  if (post.status !== 202) throw await s.fail(post, `starting an upload to ${repository}`);
  discard(post);
  const location = post.headers.location;
  if (typeof location !== 'string') throw generalError(`${s.ep.registry}: upload started without a Location`);
  const url = new URL(location, post.url);
  if (url.origin !== new URL(s.origin).origin) throw generalError(`${s.ep.registry}: upload location on another host (${url.origin}) is not followed`);
  url.searchParams.set('digest', digest);
  const b = body();
  const put = await s.send(url.href, {
    method: 'PUT',
    scope,
    signal,
    body: b,
    contentLength: Buffer.isBuffer(b) ? undefined : size,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (put.status !== 201) throw await s.fail(put, `uploading blob ${digest} to ${repository}`);
  discard(put);
}

async function pushLayer(s: Session, repository: string, layer: PushLayer, i: number, opts: PushOptions, tmpDir: string): Promise<Descriptor> {
  const { signal, onProgress } = opts;
  onProgress?.({ layer: i, status: 'Preparing' });
  if (layer.compressed && GZIP_TYPES.has(layer.compressed.mediaType) && (await blobExists(s, repository, layer.compressed.digest, signal))) {
    onProgress?.({ layer: i, digest: layer.compressed.digest, status: 'Layer already exists' });
    return { mediaType: MediaType.dockerLayerGzip, digest: layer.compressed.digest, size: layer.compressed.size };
  }
  const file = path.join(tmpDir, `push-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    const tar = new Measure();
    const gz = new Measure();
    await pipeline(await layer.open(), tar, createGzip(), gz, fs.createWriteStream(file, { mode: 0o600 }), { signal });
    const diffId = `sha256:${tar.hash.digest('hex')}`;
    if (diffId !== layer.diffId)
      throw generalError(`layer ${i}: its content has digest ${diffId}, not its diff id ${layer.diffId}; the stored layer is damaged`);
    const d: Descriptor = { mediaType: MediaType.dockerLayerGzip, digest: `sha256:${gz.hash.digest('hex')}`, size: gz.size };
    if (await blobExists(s, repository, d.digest, signal)) {
      onProgress?.({ layer: i, digest: d.digest, status: 'Layer already exists' });
      return d;
    }
    onProgress?.({ layer: i, digest: d.digest, status: 'Pushing' });
    await upload(s, repository, d.digest, () => fs.createReadStream(file), d.size, signal);
    onProgress?.({ layer: i, digest: d.digest, status: 'Pushed' });
    return d;
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/**
 * Runs `fn` over items with at most `limit` at once, results in order. The first failure
 * aborts the others (through the signal given to `fn`), and returns only once they stopped,
 * so nothing of the push goes on behind the caller's back.
 */
async function bounded<T, R>(
  items: T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, i: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const ac = new AbortController();
  const signal = outer ? AbortSignal.any([outer, ac.signal]) : ac.signal;
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i, signal);
      } catch (e) {
        failure ??= { e };
        ac.abort(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.e;
  return out;
}

/** Pushes an image (config and uncompressed layers) as `ref`'s tag; returns the manifest digest. */
export async function pushImage(client: RegistryClient, input: string | ImageRef, opts: PushOptions): Promise<PushResult> {
  const ref = client.parse(input);
  if (ref.digest !== undefined) throw invalidArgs(`cannot push to a digest reference (${familiarReference(ref)}): name a tag`);
  const tag = ref.tag ?? 'latest';
  const s = await client.sessionFor(ref.registry, opts.auth);
  const tmpDir = opts.tmpDir ?? os.tmpdir();
  const layers = await bounded(opts.layers, 3, opts.signal, (l, i, signal) => pushLayer(s, ref.repository, l, i, { ...opts, signal }, tmpDir));
  const config: Descriptor = { mediaType: MediaType.dockerConfig, digest: sha256Digest(opts.configBytes), size: opts.configBytes.length };
  if (!(await blobExists(s, ref.repository, config.digest, opts.signal)))
    await upload(s, ref.repository, config.digest, () => opts.configBytes, config.size, opts.signal);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config,
      layers,
    }),
  );
  const manifestDigest = sha256Digest(manifestBytes);
  const res = await s.send(`/v2/${ref.repository}/manifests/${tag}`, {
    method: 'PUT',
    scope: `repository:${ref.repository}:pull,push`,
    signal: opts.signal,
    body: manifestBytes,
    headers: { 'content-type': MediaType.dockerManifest },
  });
  if (res.status !== 201) throw await s.fail(res, `putting the manifest of ${familiarReference(ref)}`);
  discard(res);
  const header = res.headers['docker-content-digest'];
  if (typeof header === 'string' && header !== manifestDigest) throw generalError(`${s.ep.registry} stored the manifest as ${header}, not ${manifestDigest}`);
  return { manifestDigest, manifestBytes };
}
