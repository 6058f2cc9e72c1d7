/**
 * The loaded embedded images (iSulad keeps them in sqlite, src/daemon/modules/image/embedded/db/).
 * We keep one JSON file, replaced atomically on every change, so a crash leaves the old or the
 * new set of images and never a torn file. Layer files are referenced by path, never copied.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generalError, imageNotFound, nameConflict } from '../../api/errors.js';
import { atomicWriteFileSync, mkdirDurable, removeStaleTemps } from '../../sys/atomic-write.js';
import type { LoadedManifest } from './manifest.js';
import { describePath } from './paths.js';

/** One loaded image: a row of iSulad's image_info joined with its image_names row. */
export interface EmbeddedImageRecord {
  /** `name:tag`, the manifest's imageName. */
  readonly name: string;
  /** The manifest digest's hex, without `sha256:` (what `isula images` shows as IMAGE ID). */
  readonly id: string;
  /** `sha256:<hex>` of the manifest bytes (iSulad's config_digest). */
  readonly digest: string;
  /** Real path of the manifest (iSulad's config_path); later layers are relative to its directory. */
  readonly manifestPath: string;
  /** The manifest's `created` time, verbatim. */
  readonly created: string;
  /** When it was loaded, ISO 8601 UTC. */
  readonly loadedAt: string;
  /** Sum of the on-disk sizes of layers 1..n, measured at load. */
  readonly size: number;
  /** The full manifest text, which `isula inspect` shows and container create re-parses. */
  readonly manifestText: string;
}

export const STORE_FILE = 'images.json';
const FORMAT_VERSION = 1;

interface StoreFile {
  version: typeof FORMAT_VERSION;
  /** In load order. */
  images: EmbeddedImageRecord[];
}

/** A reference as stored: one without a tag means `:latest` (the tag follows a ':' after the last '/'). */
export function withDefaultTag(ref: string): string {
  const colon = ref.lastIndexOf(':');
  return colon < 0 || ref.includes('/', colon) ? `${ref}:latest` : ref;
}

export class EmbeddedImageStore {
  readonly file: string;
  /** Load order; replaced, never mutated, so a failed write leaves memory matching the disk. */
  private images: readonly EmbeddedImageRecord[];

  constructor(dir: string) {
    mkdirDurable(dir, 0o700);
    this.file = path.join(dir, STORE_FILE);
    removeStaleTemps(dir);
    this.images = readStoreFile(this.file);
  }

  /**
   * Records a validated manifest. Loading the same manifest again is a success that changes
   * nothing (db_save_image); the same name from another manifest is a conflict (exit 3).
   */
  add(m: LoadedManifest): { image: EmbeddedImageRecord; created: boolean } {
    const name = m.manifest.imageName;
    const existing = this.find(name);
    if (existing) {
      if (existing.digest === m.digest && existing.manifestPath === m.manifestPath) return { image: existing, created: false };
      // Same path, new digest: the manifest was edited and re-signed in place after loading.
      const why = existing.manifestPath === m.manifestPath ? ` (${existing.digest}; the manifest has changed since, remove the image first)` : '';
      throw nameConflict(`Image name is conflicted in the database: ${name} is already loaded from ${describePath(existing.manifestPath)}${why}`);
    }
    const image: EmbeddedImageRecord = Object.freeze({
      name,
      id: m.digest.slice('sha256:'.length),
      digest: m.digest,
      manifestPath: m.manifestPath,
      created: m.manifest.created,
      loadedAt: new Date().toISOString(),
      size: m.size,
      manifestText: m.text,
    });
    this.commit([...this.images, image]);
    return { image, created: true };
  }

  /** By exact `name:tag`; a ref without a tag means `:latest`. */
  get(ref: string): EmbeddedImageRecord | undefined {
    return this.find(withDefaultTag(ref));
  }

  /** Newest load first; images loaded in the same millisecond keep reverse load order. */
  list(): EmbeddedImageRecord[] {
    return [...this.images].reverse().sort((a, b) => (a.loadedAt < b.loadedAt ? 1 : a.loadedAt > b.loadedAt ? -1 : 0));
  }

  /** Forgets an image; its files are not touched. Whether a container still uses it is the caller's check. */
  remove(ref: string): void {
    const name = withDefaultTag(ref);
    if (!this.find(name)) throw imageNotFound(`No such image: ${ref}`);
    this.commit(this.images.filter((i) => i.name !== name));
  }

  count(): number {
    return this.images.length;
  }

  private find(name: string): EmbeddedImageRecord | undefined {
    return this.images.find((i) => i.name === name);
  }

  /** Writes first and only then adopts the new list, so a failed write changes nothing. */
  private commit(images: EmbeddedImageRecord[]): void {
    const content: StoreFile = { version: FORMAT_VERSION, images };
    atomicWriteFileSync(this.file, `${JSON.stringify(content, null, 2)}\n`);
    this.images = images;
  }
}

/** A missing file is an empty store; anything unreadable is refused rather than losing images silently. */
function readStoreFile(file: string): EmbeddedImageRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw corrupt(file, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw corrupt(file, 'is not valid JSON');
  }
  if (!isObject(value) || value.version !== FORMAT_VERSION || !Array.isArray(value.images)) {
    throw corrupt(file, `is not a version ${FORMAT_VERSION} image list`);
  }
  const images: EmbeddedImageRecord[] = [];
  const names = new Set<string>();
  for (const [i, raw] of (value.images as unknown[]).entries()) {
    const image = toRecord(raw);
    if (!image) throw corrupt(file, `has a malformed entry images[${i}]`);
    if (names.has(image.name)) throw corrupt(file, `lists ${image.name} twice`);
    names.add(image.name);
    images.push(image);
  }
  return images;
}

function toRecord(raw: unknown): EmbeddedImageRecord | undefined {
  if (!isObject(raw)) return undefined;
  const { name, id, digest, manifestPath, created, loadedAt, size, manifestText } = raw;
  if (
    typeof name !== 'string' ||
    typeof digest !== 'string' ||
    !/^sha256:[0-9a-f]{64}$/.test(digest) ||
    id !== digest.slice('sha256:'.length) ||
    typeof manifestPath !== 'string' ||
    !manifestPath.startsWith('/') ||
    typeof created !== 'string' ||
    typeof loadedAt !== 'string' ||
    typeof size !== 'number' ||
    !(size >= 0) ||
    typeof manifestText !== 'string'
  ) {
    return undefined;
  }
  return Object.freeze({ name, id, digest, manifestPath, created, loadedAt, size, manifestText });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function corrupt(file: string, why: string): Error {
  return generalError(`Embedded image store ${describePath(file)} ${why}; move it aside and load the images again`);
}
