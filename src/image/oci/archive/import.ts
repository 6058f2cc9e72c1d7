/**
 * `isula import`: a root filesystem tarball (plain or gzip) as a one-layer image. The store
 * unpacks the file once and learns the diff_id doing so; the blob's own digest is taken on
 * the way. The config is then made around that diff_id.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import type { ImageConfigFile, ImageSource } from '../types.js';
import { sha256Of, verified } from './digest.js';
import { hostArchitecture, layerTypeOf, MT } from './media.js';
import { ArchiveError } from './tar-index.js';

/** The store's unpacking of a layer whose diff_id is not known before (the bottom layer of a new image). */
export type ImportLayer = (open: () => Promise<Readable>, what: string) => Promise<{ diffId: string }>;

const rawStream = (fh: FileHandle, size: number): Readable =>
  fs.createReadStream('', { fd: fh.fd, start: 0, end: size - 1, autoClose: false, highWaterMark: 256 * 1024 });

/**
 * Unpacks `file` (a regular file) through `importLayer` and returns the image to add, whose
 * one layer is then present. `comment` goes into the history as Docker's "Imported from ...".
 */
export async function importRootfsTarball(file: string, importLayer: ImportLayer, comment: string, now = new Date()): Promise<ImageSource> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ArchiveError(`${file} is not a regular file`);
    if (st.size === 0) throw new ArchiveError(`${file} is empty`);
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const mediaType = layerTypeOf(head);
    const blobHash = createHash('sha256');
    const { diffId } = await importLayer(async () => {
      const raw = rawStream(fh, st.size);
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          blobHash.update(chunk);
          cb(null, chunk);
        },
      });
      raw.on('error', (e) => tap.destroy(e));
      return raw.pipe(tap);
    }, `tarball ${file}`);
    const blob = `sha256:${blobHash.digest('hex')}`;
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
    return {
      configBytes,
      config,
      manifestBytes,
      manifestMediaType: MT.ociManifest,
      // Present in the store already; opened again only if the store wants the blob (by path: this handle is closed by then).
      layers: [{ descriptor, diffId, open: async () => verified(fs.createReadStream(file), blob, st.size, `tarball ${file}`) }],
    };
  } finally {
    await fh.close();
  }
}
