/**
 * load, save, import and export of OCI images, on the store through the few calls they
 * need (`ArchiveStore`), so this folder depends on the store's shape only here.
 */
import type { Readable } from 'node:stream';
import { EngineError, ExitCode, fault, generalError, imageNotFound } from '../../../api/errors.js';
import type { ImageSource, LayerSource } from '../types.js';
import { sha256Of } from './digest.js';
import { tarDirectory } from './export.js';
import { importRootfsTarball } from './import.js';
import { parseImageConfig, readImageArchive } from './reader.js';
import { ArchiveError } from './tar-index.js';
import { type SaveImage, writeDockerArchive } from './writer.js';

/** An image as the store keeps it, as far as save needs it. */
export interface StoredImage {
  /** sha256 hex of the config (with or without the `sha256:` prefix). */
  id: string;
  /** Full names (`docker.io/library/busybox:latest`). */
  names: string[];
  /** Chain ids, bottom to top. */
  layers: string[];
}

/** What the archive verbs ask of the OCI store: a part of the back-end's port to it (ports.ts). */
export interface ArchiveStore {
  hasLayer(chainId: string): boolean;
  layerRecord(chainId: string): { size: number } | undefined;
  putLayer(parent: string | undefined, src: LayerSource): Promise<{ id: string }>;
  /** A bottom layer whose diff_id is learnt while unpacking (import). */
  importLayer(open: () => Promise<Readable>, what: string): Promise<{ diffId: string }>;
  /** The layer's uncompressed tar, byte for byte as it was added. */
  layerTar(chainId: string): Readable;
  addImage(src: ImageSource, names: readonly string[], repoDigests: readonly string[]): Promise<{ id: string }>;
  /** By name, id, id prefix or repo@digest. */
  getImage(ref: string): StoredImage | undefined;
  imageConfig(id: string): Promise<Buffer>;
}

/** Chain ids of the image spec (config.md, "Layer ChainID"). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Of(Buffer.from(`${out.at(-1)} ${d}`)));
  return out;
}

const ID_RE = /^(sha256:)?[0-9a-f]{4,64}$/;

const withAlgorithm = (id: string): string => (id.startsWith('sha256:') ? id : `sha256:${id}`);

export interface ArchiveDeps {
  store: ArchiveStore;
  /** A user's or an archive's name as the store keeps it (`busybox` → `docker.io/library/busybox:latest`); throws on a bad name. */
  normalize(name: string): string;
  /** The short form Docker prints (`docker.io/library/` dropped). */
  familiar(name: string): string;
  /** Temp space inside the daemon's root, emptied at start (load decompresses gzip archives there). */
  tmpDir: string;
  /** Records an image event: load, import, save. */
  emit(action: string, id: string, attributes: Record<string, string>): void;
  warn(message: string): void;
}

const archiveFailure = (what: string, e: unknown): EngineError => {
  if (e instanceof EngineError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return generalError(`${what}: ${msg}`);
};

function normalizeAll(deps: ArchiveDeps, names: string[], what: string): string[] {
  return names.map((n) => {
    try {
      return deps.normalize(n);
    } catch (e) {
      throw fault('InvalidArgument', `${what}: invalid image name "${n}": ${(e as Error).message}`, ExitCode.general);
    }
  });
}

/** Layers unpacked at once, as a pull does (Docker's three): the disk, not the CPU, is the limit. */
const LAYERS_AT_ONCE = 3;

/**
 * Adds an image's layers that the store lacks. They are started bottom to top (the store
 * takes a layer whose parent is still being unpacked, and commits it after), at most
 * LAYERS_AT_ONCE at a time; the first failure is thrown once all started have ended.
 */
async function putLayers(store: ArchiveStore, src: ImageSource): Promise<void> {
  const chains = chainIds(src.config.rootfs.diff_ids);
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (const [i, layer] of src.layers.entries()) {
    if (store.hasLayer(chains[i]!)) continue;
    while (running.size >= LAYERS_AT_ONCE) await Promise.race(running);
    if (failure) break;
    const p: Promise<void> = store
      .putLayer(i === 0 ? undefined : chains[i - 1], layer)
      .then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
        },
      )
      .finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}

/**
 * `isula load -i FILE [--tag REF]` of a docker-archive or oci-archive. Every image of the
 * archive is read and checked before the first layer is added; each gets its names (or, with
 * --tag, the one image gets that name). Returns Docker's lines: `Loaded image: NAME` per
 * name, `Loaded image ID: sha256:...` for an image without one.
 */
export async function loadArchive(deps: ArchiveDeps, file: string, tag?: string): Promise<string[]> {
  const what = `Load image from "${file}" failed`;
  let archive: Awaited<ReturnType<typeof readImageArchive>>;
  try {
    archive = await readImageArchive(file, deps.tmpDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw generalError(`${what}: no such file`);
    throw archiveFailure(what, e);
  }
  try {
    if (tag !== undefined && archive.images.length !== 1) {
      throw fault('InvalidArgument', `${what}: --tag needs an archive with one image, this one has ${archive.images.length}`, ExitCode.general);
    }
    const planned = archive.images.map((img) => ({ img, names: normalizeAll(deps, tag !== undefined ? [tag] : img.names, what) }));
    for (const { img } of planned) {
      try {
        await putLayers(deps.store, img.source);
      } catch (e) {
        throw archiveFailure(what, e);
      }
    }
    const lines: string[] = [];
    for (const { img, names } of planned) {
      const id = withAlgorithm((await deps.store.addImage(img.source, names, [])).id);
      deps.emit('load', id, names.length > 0 ? { name: names.join(',') } : {});
      if (names.length === 0) lines.push(`Loaded image ID: ${id}`);
      for (const n of names) lines.push(`Loaded image: ${deps.familiar(n)}`);
    }
    return lines;
  } finally {
    await archive.close();
  }
}

/** The images `refs` name, with the names each was asked by (none when asked by id). */
async function imagesToSave(deps: ArchiveDeps, refs: string[]): Promise<SaveImage[]> {
  const out = new Map<string, SaveImage>();
  for (const ref of refs) {
    let full: string | undefined;
    try {
      full = deps.normalize(ref);
    } catch {
      full = undefined;
    }
    // By name first (`busybox` is docker.io/library/busybox:latest), then by id or id prefix.
    const image = (full ? deps.store.getImage(full) : undefined) ?? (ID_RE.test(ref) ? deps.store.getImage(ref) : undefined);
    if (!image) throw imageNotFound(`No such image: ${ref}`);
    let entry = out.get(image.id);
    if (!entry) {
      const configBytes = await deps.store.imageConfig(image.id);
      const config = parseImageConfig(configBytes, `the config of image ${image.id}`);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== image.layers.length) throw generalError(`image ${image.id} in the store is damaged: its config and its layers differ`);
      entry = {
        configBytes,
        config,
        names: [],
        layers: image.layers.map((chain, i) => {
          const record = deps.store.layerRecord(chain);
          if (!record) throw generalError(`image ${image.id} in the store is damaged: its layer ${chain} is missing`);
          return { diffId: diffIds[i]!, size: record.size, open: async () => deps.store.layerTar(chain) };
        }),
      };
    }
    // Asked by a name the image has: that name goes in; by id (or id prefix): no name, as Docker.
    if (full && image.names.includes(full) && !entry.names.some((n) => n.full === full)) entry.names.push({ full, familiar: deps.familiar(full) });
    out.set(image.id, entry);
  }
  return [...out.values()];
}

/** `isula save IMAGE...`: the docker-archive's bytes as they are made; images are looked up before the first byte. */
export async function saveImages(deps: ArchiveDeps, refs: string[]): Promise<AsyncGenerator<Buffer>> {
  if (refs.length === 0) throw fault('InvalidArgument', 'save needs at least one image');
  const images = await imagesToSave(deps, refs);
  return (async function* () {
    yield* writeDockerArchive(images);
    // Told once the whole archive went out.
    for (const img of images) {
      const names = img.names.map((n) => n.full).join(',');
      deps.emit('save', sha256Of(img.configBytes), names ? { name: names } : {});
    }
  })();
}

/** `isula import FILE REPO[:TAG]`: prints the new image's id. */
export async function importTarball(deps: ArchiveDeps, file: string, ref: string, from = file): Promise<string> {
  const what = `Import image from "${from}" failed`;
  const [name] = normalizeAll(deps, [ref], what);
  let source: ImageSource;
  try {
    source = await importRootfsTarball(file, (open, w) => deps.store.importLayer(open, w), `Imported from ${from}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw generalError(`${what}: no such file`);
    throw archiveFailure(what, e);
  }
  const id = withAlgorithm((await deps.store.addImage(source, [name!], [])).id);
  deps.emit('import', id, { name: name! });
  return id;
}

/** Where an export reads the container's filesystem; `release` undoes a mount made for it. */
export interface MountedRootfs {
  path: string;
  release(): Promise<void>;
}

/** `isula export CONTAINER`: the filesystem under `root` as a tar, chunk by chunk; tar is killed when the consumer stops early. */
export async function* exportRootfs(root: string, warn: (m: string) => void): AsyncGenerator<Buffer> {
  const tar = tarDirectory(root, (text) => warn(`export of ${root}: ${text}`));
  let finished = false;
  try {
    for await (const chunk of tar.stdout as AsyncIterable<Buffer>) yield chunk;
    await tar.done;
    finished = true;
  } finally {
    if (!finished) {
      tar.kill();
      await tar.done.catch(() => undefined);
    }
  }
}

export { ArchiveError };
