/**
 * `isula import`: a root filesystem tarball (plain or gzip) as a one-layer image. The file
 * is read twice: once to learn its digests (the blob's and the uncompressed tar's, the
 * diff_id), then by the store through a check of the blob's digest. It stays open between,
 * so the second read is of the same file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { ImageConfigFile, ImageSource } from '../types.js';
import { sha256Of, verified } from './digest.js';
import { hostArchitecture, layerTypeOf, MT } from './media.js';
import { ArchiveError } from './tar-index.js';

export interface ImportedTarball {
  source: ImageSource;
  close(): Promise<void>;
}

async function digests(fh: FileHandle, size: number, gzip: boolean): Promise<{ blob: string; diffId: string }> {
  const blob = createHash('sha256');
  const tar = createHash('sha256');
  const raw = fs.createReadStream('', { fd: fh.fd, start: 0, end: Math.max(size - 1, 0), autoClose: false, highWaterMark: 256 * 1024 });
  if (!gzip) {
    for await (const chunk of raw as AsyncIterable<Buffer>) blob.update(chunk);
    const d = `sha256:${blob.digest('hex')}`;
    return { blob: d, diffId: d };
  }
  const gunzip = createGunzip();
  raw.on('data', (chunk) => blob.update(chunk));
  raw.on('error', (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) tar.update(chunk);
  } catch (e) {
    throw new ArchiveError(`the tarball is not valid gzip: ${(e as Error).message}`);
  }
  return { blob: `sha256:${blob.digest('hex')}`, diffId: `sha256:${tar.digest('hex')}` };
}

/** Reads `file` (a regular file) into an ImageSource; `comment` goes into the history as Docker's "Imported from ...". */
export async function readRootfsTarball(file: string, comment: string, now = new Date()): Promise<ImportedTarball> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ArchiveError(`${file} is not a regular file`);
    if (st.size === 0) throw new ArchiveError(`${file} is empty`);
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const mediaType = layerTypeOf(head);
    if (mediaType === MT.ociLayerZstd) throw new ArchiveError(`${file} is zstd-compressed: import takes a plain or gzip tarball`);
    const { blob, diffId } = await digests(fh, st.size, mediaType === MT.ociLayerGzip);
    const created = now.toISOString();
    const config: ImageConfigFile = {
      architecture: hostArchitecture(),
      os: 'linux',
      created,
      config: {},
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'isula import', comment }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const descriptor = { mediaType, digest: blob, size: st.size };
    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: MT.ociConfig, digest: sha256Of(configBytes), size: configBytes.length },
        layers: [descriptor],
      }),
    );
    const source: ImageSource = {
      configBytes,
      config,
      manifestBytes,
      manifestMediaType: MT.ociManifest,
      layers: [
        {
          descriptor,
          diffId,
          open: async () =>
            verified(
              fs.createReadStream('', { fd: fh.fd, start: 0, end: st.size - 1, autoClose: false, highWaterMark: 256 * 1024 }),
              blob,
              st.size,
              `tarball ${file}`,
            ),
        },
      ],
    };
    return { source, close: () => fh.close() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}
