/**
 * The OCI image store: layers shared by every image, images, and one writable layer per
 * container, on iSulad's layout under `<graph>/storage/` (`<d>` is `overlay` or `vfs`):
 *
 *   <d>/<chain id hex>/diff             a layer, unpacked (whiteouts as overlay wants them)
 *   <d>/<chain id hex>/link             its short name; <d>/l/<short> → ../<hex>/diff
 *   <d>/<container id>/{diff,work,merged}   overlay: upper, work dir, mount point
 *   <d>/<container id>/rootfs           vfs: a full copy
 *   <d>-layers/layers.json              layer records (the commit point of a layer)
 *   <d>-layers/<hex>.tar-skeleton.gz    what rebuilds the layer's original tar (skeleton.ts)
 *   <d>-images/images.json              image records (names, digests, layers)
 *   <d>-images/<id>/{config,manifest}   the blobs as fetched
 *   <d>-containers/containers.log       container layer records, an append-only log (record-log.ts)
 *   <d>-containers/containers.json      container layer records of an older version, read once,
 *                                       then a text that stops an older daemon (not JSON)
 *   tmp/                                work in progress; emptied at every open
 *
 * Layers and images are made in tmp/ and renamed into place; a container's layer (empty
 * directories, or the vfs copy) is made in place. An index file (written atomically), or a
 * container layer's line in the log (appended and flushed), is the commit point:
 * SIGKILL at any moment leaves records that name only complete directories, and open()
 * removes whatever no record names. Removal goes the other way (record first, files after).
 *
 * API (ids: `sha256:<hex>` for layers, 64 hex for images and containers):
 *   layers      chainIds, hasLayer, putLayer, layerTar, layerRecord
 *   images      addImage, getImage, listImages, imageConfig, imageManifest, tag, untag, removeImage
 *   containers  createContainerLayer, mount, unmount, rootfsPath, removeContainerLayer, sweep
 */
import type { StoredImage } from '../ports.js';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { generalError, imageBusy, imageNotFound, invalidArgs, nameConflict, notFound } from '../../../api/errors.js';
import { atomicWriteFile, fsyncDir } from '../../../sys/atomic-write.js';
import { DurableFile } from '../../../sys/durable-file.js';
import { readFileInRoot } from '../../../sys/in-root.js';
import type { Logger } from '../../../sys/log.js';
import { isMountPoint, mountFs, syncFilesystem, unmount } from '../../../sys/mount.js';
import { SharedFlush } from '../../../sys/shared-flush.js';
import type { Descriptor, ImageSource, LayerProgress, LayerSource } from '../types.js';
import { parseStorageOpts, type StorageOptions } from './options.js';
import { RecordLog } from './record-log.js';
import { assembleTar } from './skeleton.js';
import { DEFAULT_MAX_ENTRIES, type UnpackResult } from './unpack.js';
import { unpackLayerOffThread } from './unpack-thread.js';
import { buildVfsRoot } from './vfs.js';

export interface OciStoreOptions {
  graph: string;
  driver: 'overlay2' | 'vfs';
  storageOpts: readonly string[];
  log: Logger;
  /** Entries one layer may hold (a tar bomb of empty files); tests lower it. */
  maxEntries?: number;
}

export interface LayerRecord {
  /** Chain id, `sha256:<hex>`. */
  id: string;
  parent?: string;
  diffId: string;
  /** The blob it came from (for push and the pull's "Already exists"). */
  compressedDigest: string;
  compressedSize: number;
  mediaType: string;
  /** Uncompressed tar bytes. */
  size: number;
  /** Short name: `l/<link>` is a symlink to the layer's diff. */
  link: string;
  created: string;
  /** For the vfs driver, which applies whiteouts itself. */
  opaqueDirs: string[];
  whiteouts: string[];
}

/** The store's image record: what the back-end sees (StoredImage) and the manifest it came as. */
export interface ImageRecord extends StoredImage {
  manifestDigest: string;
  manifestMediaType: string;
}

export interface ContainerLayerRecord {
  id: string;
  imageId: string;
  /** The image's chain ids when the container was made (the image may lose its names, never its layers while this exists). */
  layers: string[];
  created: string;
}

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const hexOf = (digest: string): string => digest.slice(digest.indexOf(':') + 1);
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
/**
 * Layers put or found present by a pull that has not added its image yet are not collected
 * by removeImage for this long: the pull is about to name them. addImage ends the wait.
 */
const LAYER_GRACE_MS = 10 * 60 * 1000;
const LINK_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** The container layers' log (compacted at every open) and an older version's index of them. */
const MAX_CONTAINER_RECORDS = 256 * 1024 * 1024;
/**
 * Left where an older version kept its container layers' index: not JSON, so such a daemon
 * (after a downgrade) stops at open with "not valid JSON; the store's index is damaged"
 * instead of taking every container layer for an unfinished create and removing it.
 */
const LEGACY_INDEX_FENCE = 'This store keeps its container layers in containers.log; a daemon that reads this file is older than the store.\n';

/** OCI image-spec config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

function shortLink(): string {
  const bytes = randomBytes(26);
  let s = '';
  for (const b of bytes) s += LINK_CHARS[b % LINK_CHARS.length];
  return s;
}

/** A container layer's record as read back, or undefined if it is not one. */
function containerRecordOf(value: unknown): ContainerLayerRecord | undefined {
  const r = value as Partial<ContainerLayerRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || !HEX64.test(r.id) || typeof r.imageId !== 'string' || !HEX64.test(r.imageId))
    return undefined;
  if (!Array.isArray(r.layers) || !r.layers.every((l) => typeof l === 'string' && DIGEST.test(l)) || typeof r.created !== 'string') return undefined;
  return { id: r.id, imageId: r.imageId, layers: [...r.layers], created: r.created };
}

/** imageConfig keeps this many config blobs, each at most this large. */
const KEPT_CONFIGS = 16;
const MAX_KEPT_CONFIG = 64 * 1024;

/**
 * Overlay features a kernel may turn on by default that tie an upper layer to the exact lower
 * layers it was made over (index: file handles of the lowers; metacopy: data left in the
 * lower): off, as Docker does, so the upper stays a plain directory of changes.
 */
function overlayDefaultsOff(): string[] {
  const on = (name: string): boolean => {
    try {
      return fs.readFileSync(`/sys/module/overlay/parameters/${name}`, 'utf8').trim() === 'Y';
    } catch {
      return false;
    }
  };
  return ['index', 'metacopy'].filter(on).map((name) => `${name}=off`);
}

/**
 * One JSON index file (layers, images), written whole and durably. Writes asked for while one
 * is on disk fold into one more (sys/durable-file.ts): layers committed together make one
 * queued write, not one each waiting for the fsyncs of all before it.
 */
class IndexFile<T> {
  private data: Record<string, T> = {};
  private readonly durable: DurableFile;
  constructor(readonly file: string) {
    this.durable = new DurableFile(file, () => `${JSON.stringify(this.data)}\n`, 0o600);
  }

  read(): Record<string, T> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    try {
      return JSON.parse(text) as Record<string, T>;
    } catch {
      throw generalError(`${this.file}: not valid JSON; the store's index is damaged`);
    }
  }

  /** Writes `data`, or content newer still; settles once that is on disk. */
  write(data: Record<string, T>): Promise<void> {
    this.data = data;
    return this.durable.save();
  }
}

export class OciStore {
  readonly driver: 'overlay2' | 'vfs';
  readonly options: StorageOptions;
  private readonly root: string;
  private readonly driverDir: string;
  private readonly linkDir: string;
  private readonly layersDir: string;
  private readonly imagesDir: string;
  private readonly tmpDir: string;
  private readonly layerIndex: IndexFile<LayerRecord>;
  private readonly imageIndex: IndexFile<ImageRecord>;
  private readonly containersDir: string;
  private readonly containerLog: RecordLog<ContainerLayerRecord>;
  /** Where an older version kept every container layer's record (adopted at open). */
  private readonly legacyContainerIndex: string;
  private layers: Record<string, LayerRecord> = {};
  private images: Record<string, ImageRecord> = {};
  private containers: Record<string, ContainerLayerRecord> = {};
  private readonly inflight = new Map<string, Promise<LayerRecord>>();
  private readonly touched = new Map<string, number>();
  private readonly mounting = new Map<string, Promise<string>>();
  /** Container layers made by this daemon and not mounted since: mount() need not read mountinfo. */
  private readonly neverMounted = new Set<string>();
  /** overlay2's diff, work and merged of new container layers, made after the create's record (overlayDirs). */
  private readonly dirsMade = new Map<string, Promise<void>>();
  /** Config blobs of recently used images, by id (imageConfig). */
  private readonly configs = new Map<string, Buffer>();
  /** Container layer removals under way, by container id. */
  private readonly removing = new Map<string, Promise<void>>();
  private readonly syncfs: SharedFlush;
  private readonly log: Logger;
  private readonly maxEntries: number;

  private constructor(opts: OciStoreOptions) {
    this.driver = opts.driver;
    this.options = parseStorageOpts(opts.storageOpts);
    this.log = opts.log;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.root = path.join(path.resolve(opts.graph), 'storage');
    const d = opts.driver === 'overlay2' ? 'overlay' : 'vfs';
    this.driverDir = path.join(this.root, d);
    this.linkDir = path.join(this.driverDir, 'l');
    this.layersDir = path.join(this.root, `${d}-layers`);
    this.imagesDir = path.join(this.root, `${d}-images`);
    this.tmpDir = path.join(this.root, 'tmp');
    this.syncfs = new SharedFlush(() => syncFilesystem(this.root));
    this.layerIndex = new IndexFile(path.join(this.layersDir, 'layers.json'));
    this.imageIndex = new IndexFile(path.join(this.imagesDir, 'images.json'));
    this.containersDir = path.join(this.root, `${d}-containers`);
    this.containerLog = new RecordLog(path.join(this.containersDir, 'containers.log'), () => Object.values(this.containers));
    this.legacyContainerIndex = path.join(this.containersDir, 'containers.json');
  }

  /** Opens (creating) the store and removes what a crash left half made. Refuses bad storage-opts. */
  static async open(opts: OciStoreOptions): Promise<OciStore> {
    const s = new OciStore(opts);
    for (const dir of [s.root, s.driverDir, s.linkDir, s.layersDir, s.imagesDir, s.containersDir, s.tmpDir]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    await s.recover();
    return s;
  }

  private async recover(): Promise<void> {
    for (const name of fs.readdirSync(this.tmpDir)) await fsp.rm(path.join(this.tmpDir, name), { recursive: true, force: true });
    this.layers = this.layerIndex.read();
    this.images = this.imageIndex.read();
    await this.readContainerRecords();
    for (const img of Object.values(this.images)) {
      if (img.layers.some((l) => !this.layers[l])) this.log.error(`image ${img.id} needs a layer the store lacks`);
    }
    // Layers no image or container needs: a pull that died before adding its image.
    const used = this.usedLayers();
    const unused = Object.keys(this.layers).filter((id) => !used.has(id));
    for (const id of unused) delete this.layers[id];
    if (unused.length > 0) {
      await this.layerIndex.write(this.layers);
      this.log.info(`removed ${unused.length} layer(s) no image uses`);
    }
    // Directories and files no record names: among them container layers whose record was
    // never flushed (a create killed before it).
    const keepDirs = new Set([...Object.keys(this.layers).map(hexOf), ...Object.keys(this.containers), 'l']);
    for (const name of fs.readdirSync(this.driverDir)) {
      if (keepDirs.has(name)) continue;
      const dir = path.join(this.driverDir, name);
      await unmount(path.join(dir, 'merged'));
      await fsp.rm(dir, { recursive: true, force: true });
    }
    const links = new Set(Object.values(this.layers).map((l) => l.link));
    for (const name of fs.readdirSync(this.linkDir)) if (!links.has(name)) await fsp.rm(path.join(this.linkDir, name), { force: true });
    const skeletons = new Set(Object.keys(this.layers).map((id) => `${hexOf(id)}.tar-skeleton.gz`));
    for (const name of fs.readdirSync(this.layersDir)) {
      if (name !== 'layers.json' && !skeletons.has(name)) await fsp.rm(path.join(this.layersDir, name), { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(this.imagesDir)) {
      if (name !== 'images.json' && !this.images[name]) await fsp.rm(path.join(this.imagesDir, name), { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(this.containersDir)) {
      if (name !== 'containers.log' && name !== 'containers.json') await fsp.rm(path.join(this.containersDir, name), { recursive: true, force: true });
    }
  }

  /**
   * The container layers' records: the log's, and those of an older version's index (one file
   * rewritten whole at every create) not in it. The log is then rewritten with them (compacted,
   * its torn last line gone) before the index is replaced by the fence, so a kill midway loses
   * nothing.
   */
  private async readContainerRecords(): Promise<void> {
    const { records, torn } = RecordLog.read(this.containerLog.file, MAX_CONTAINER_RECORDS, containerRecordOf);
    if (torn > 0) this.log.warn(`container layer log: ${torn} torn line(s) skipped (a create or removal that never finished)`);
    const legacyText = readFileInRoot(this.containersDir, path.basename(this.legacyContainerIndex), MAX_CONTAINER_RECORDS);
    const adopt = legacyText !== undefined && legacyText !== LEGACY_INDEX_FENCE;
    if (adopt) {
      let legacy: Record<string, unknown>;
      try {
        legacy = JSON.parse(legacyText) as Record<string, unknown>;
      } catch {
        throw generalError(`${this.legacyContainerIndex}: not valid JSON; the store's index is damaged`);
      }
      for (const entry of Object.values(legacy)) {
        const record = containerRecordOf(entry);
        if (record && !records.has(record.id)) records.set(record.id, record);
      }
    }
    this.containers = {};
    for (const [id, c] of records) {
      if (!fs.lstatSync(path.join(this.driverDir, id), { throwIfNoEntry: false })?.isDirectory()) {
        this.log.warn(`container layer ${id} has no directory; record dropped`);
        continue;
      }
      if (c.layers.some((l) => !this.layers[l])) this.log.error(`container ${id} needs a layer the store lacks; its rootfs cannot be mounted`);
      this.containers[id] = c;
    }
    await this.containerLog.rewrite();
    if (legacyText !== LEGACY_INDEX_FENCE) await atomicWriteFile(this.legacyContainerIndex, LEGACY_INDEX_FENCE, 0o600);
  }

  private usedLayers(): Set<string> {
    const used = new Set<string>();
    for (const r of [...Object.values(this.images), ...Object.values(this.containers)]) for (const l of r.layers) used.add(l);
    return used;
  }

  private layerDir(id: string): string {
    return path.join(this.driverDir, hexOf(id));
  }

  private skeletonFile(id: string): string {
    return path.join(this.layersDir, `${hexOf(id)}.tar-skeleton.gz`);
  }

  // ---- layers ----

  hasLayer(chainId: string): boolean {
    if (!this.layers[chainId]) return false;
    this.touched.set(chainId, Date.now());
    return true;
  }

  layerRecord(chainId: string): LayerRecord | undefined {
    return this.layers[chainId];
  }

  /**
   * Adds the layer `src` on top of `parent` (a chain id, undefined for the bottom layer) and
   * returns its record. A layer already present is not read again; two calls for the same
   * chain at once share one download and unpack. The parent must be present or being put:
   * calling putLayer for all of an image's layers, bottom to top, without awaiting in
   * between, downloads and unpacks them concurrently, each committed after its parent.
   */
  async putLayer(parent: string | undefined, src: LayerSource, onProgress?: (p: LayerProgress) => void): Promise<LayerRecord> {
    if (!DIGEST.test(src.diffId)) throw invalidArgs(`layer ${src.descriptor.digest}: bad diff_id ${JSON.stringify(src.diffId)}`);
    const id = parent === undefined ? src.diffId : sha256(`${parent} ${src.diffId}`);
    const present = this.layers[id];
    if (present) {
      this.touched.set(id, Date.now());
      onProgress?.({ id: src.descriptor.digest, status: 'Already exists' });
      return present;
    }
    const running = this.inflight.get(id);
    if (running) return running;
    if (parent !== undefined && !this.layers[parent] && !this.inflight.has(parent)) {
      throw notFound(`layer ${src.descriptor.digest}: its parent layer ${parent} is not in the store`);
    }
    const p = this.unpackInto(id, parent, { ...src, what: src.descriptor.digest }, onProgress).finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /**
   * Adds a bottom layer whose diff_id nobody knows before reading it (`isula import`: a rootfs
   * tarball, plain or compressed; `what` names it in errors). Its blob, for push and save, is
   * its own uncompressed tar.
   */
  importLayer(open: () => Promise<Readable>, what: string, onProgress?: (p: LayerProgress) => void): Promise<LayerRecord> {
    return this.unpackInto(undefined, undefined, { open, what }, onProgress, (id, commit) => {
      // Known only now: the same tar imported twice at once commits once.
      const have = this.layers[id] ?? this.inflight.get(id);
      if (have) return Promise.resolve(have);
      const p = commit().finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
      return p;
    });
  }

  /** Unpacks and commits a layer; `id` undefined: the diff_id, computed, is the id (a bottom layer). */
  private async unpackInto(
    knownId: string | undefined,
    parent: string | undefined,
    src: { descriptor?: Descriptor; diffId?: string; what: string; open(): Promise<Readable>; openUnverified?: LayerSource['openUnverified'] },
    onProgress?: (p: LayerProgress) => void,
    onceKnown?: (id: string, commit: () => Promise<LayerRecord>) => Promise<LayerRecord>,
  ): Promise<LayerRecord> {
    const what = src.what;
    const work = await fsp.mkdtemp(path.join(this.tmpDir, 'layer-'));
    try {
      const diff = path.join(work, 'diff');
      fs.mkdirSync(diff, { mode: 0o755 });
      // The blob checked where it is unpacked (off the main thread), when its source allows.
      const raw = src.descriptor && src.openUnverified ? await src.openUnverified() : undefined;
      const stream: Readable = raw ? raw.body : await src.open();
      const total = src.descriptor?.size;
      let current = 0;
      let lastReport = 0;
      const result = await unpackLayerOffThread({
        src: stream,
        what,
        ...(src.diffId !== undefined ? { diffId: src.diffId } : {}),
        dir: diff,
        skeletonPath: path.join(work, 'skeleton'),
        ...(raw ? { blob: { descriptor: src.descriptor!, what: raw.what }, ownChunks: true } : {}),
        limits: { maxBytes: this.options.layerMaxSize, maxEntries: this.maxEntries, minFreeSpace: this.options.minFreeSpace },
        onBytes: (n) => {
          current += n;
          // A bar needs a few updates a second, not one per chunk.
          if (onProgress && (current - lastReport >= 512 * 1024 || current === total)) {
            lastReport = current;
            onProgress({ id: what, status: 'Downloading', current, total });
          }
        },
      });
      onProgress?.({ id: what, status: 'Download complete' });
      const id = knownId ?? result.diffId;
      const commit = (): Promise<LayerRecord> => this.commitLayer(work, id, parent, src, result, onProgress);
      const record = await (onceKnown ? onceKnown(id, commit) : commit());
      // Another import committed the same layer: this copy goes.
      await fsp.rm(work, { recursive: true, force: true });
      return record;
    } catch (e) {
      await fsp.rm(work, { recursive: true, force: true });
      throw e;
    }
  }

  private async commitLayer(
    work: string,
    id: string,
    parent: string | undefined,
    src: { descriptor?: Descriptor; what: string },
    result: UnpackResult,
    onProgress?: (p: LayerProgress) => void,
  ): Promise<LayerRecord> {
    const what = src.what;
    const link = shortLink();
    fs.writeFileSync(path.join(work, 'link'), link);
    const record: LayerRecord = {
      id,
      ...(parent !== undefined ? { parent } : {}),
      diffId: result.diffId,
      compressedDigest: src.descriptor?.digest ?? result.diffId,
      compressedSize: src.descriptor?.size ?? result.size,
      mediaType: src.descriptor?.mediaType ?? 'application/vnd.oci.image.layer.v1.tar',
      size: result.size,
      link,
      created: new Date().toISOString(),
      opaqueDirs: result.opaqueDirs,
      whiteouts: result.whiteouts,
    };
    // Into place first, unnamed (no index names it: a crash leaves what recovery removes), so
    // one syncfs flushes the files, the renames and the link together: no fsync of each
    // directory after it. Layers finishing together share that syncfs.
    const dest = this.layerDir(id);
    const skeletonFile = this.skeletonFile(id);
    const linkFile = path.join(this.linkDir, link);
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(path.join(work, 'skeleton'), skeletonFile);
    await fsp.rename(work, dest);
    try {
      await fsp.symlink(`../${hexOf(id)}/diff`, linkFile);
      // The files tar wrote must be on disk before an index names the layer.
      await this.syncfs.run();
      // Layers unpack side by side (each diff stands alone); each is named only after its parent.
      if (parent !== undefined && !this.layers[parent]) {
        await this.inflight.get(parent)?.catch(() => undefined);
        if (!this.layers[parent]) throw generalError(`layer ${what}: its parent layer ${parent} failed`);
      }
    } catch (e) {
      await Promise.all([fsp.rm(dest, { recursive: true, force: true }), fsp.rm(skeletonFile, { force: true }), fsp.rm(linkFile, { force: true })]);
      throw e;
    }
    this.layers[id] = record;
    this.touched.set(id, Date.now());
    await this.layerIndex.write(this.layers);
    onProgress?.({ id: what, status: 'Pull complete' });
    return record;
  }

  /** The layer's original uncompressed tar, byte for byte (its sha256 is checked as it streams). */
  layerTar(chainId: string): Readable {
    const l = this.layers[chainId];
    if (!l) throw notFound(`layer ${chainId} is not in the store`);
    return assembleTar(path.join(this.layerDir(chainId), 'diff'), this.skeletonFile(chainId), l.diffId, `layer ${l.diffId}`);
  }

  // ---- images ----

  /**
   * Records an image whose layers are all present (putLayer). The id is the sha256 of the
   * config bytes; adding an id again merges names and digests. A name or digest another
   * image holds moves to this one.
   */
  async addImage(src: ImageSource, names: readonly string[], repoDigests: readonly string[]): Promise<ImageRecord> {
    const id = hexOf(sha256(src.configBytes));
    const diffIds = src.config.rootfs?.diff_ids ?? [];
    if (src.layers.length !== diffIds.length || src.layers.some((l, i) => l.diffId !== diffIds[i])) {
      throw invalidArgs(`image ${id}: its layers do not match the config's rootfs.diff_ids`);
    }
    const layers = chainIds(diffIds);
    for (const l of layers) if (!this.layers[l]) throw notFound(`image ${id}: layer ${l} is not in the store`);
    const dir = path.join(this.imagesDir, id);
    if (!fs.existsSync(dir)) {
      const work = await fsp.mkdtemp(path.join(this.tmpDir, 'image-'));
      try {
        await atomicWriteFile(path.join(work, 'config'), src.configBytes, 0o600);
        await atomicWriteFile(path.join(work, 'manifest'), src.manifestBytes, 0o600);
        await fsp.rename(work, dir);
        fsyncDir(this.imagesDir);
      } catch (e) {
        await fsp.rm(work, { recursive: true, force: true });
        // Another pull of the same image got there first: its blobs are these.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
      }
    } else {
      await atomicWriteFile(path.join(dir, 'manifest'), src.manifestBytes, 0o600);
    }
    const old = this.images[id];
    const record: ImageRecord = {
      id,
      names: [...(old?.names ?? [])],
      repoDigests: [...(old?.repoDigests ?? [])],
      layers,
      ...(src.config.created !== undefined ? { created: src.config.created } : {}),
      loaded: old?.loaded ?? new Date().toISOString(),
      size: layers.reduce((n, l) => n + this.layers[l]!.size, 0),
      manifestDigest: sha256(src.manifestBytes),
      manifestMediaType: src.manifestMediaType,
    };
    this.images[id] = record;
    // Named by an image now: no longer a pull's layer in waiting (see collectLayers).
    for (const l of layers) this.touched.delete(l);
    for (const n of names) this.moveName(id, n, 'names');
    for (const d of repoDigests) this.moveName(id, d, 'repoDigests');
    await this.imageIndex.write(this.images);
    return record;
  }

  private moveName(id: string, name: string, field: 'names' | 'repoDigests'): void {
    for (const img of Object.values(this.images)) {
      if (img.id !== id && img[field].includes(name)) img[field] = img[field].filter((x) => x !== name);
    }
    const img = this.images[id]!;
    if (!img[field].includes(name)) img[field] = [...img[field], name];
  }

  /**
   * An image by full name (`host/repo:tag`), `host/repo@sha256:…`, id, `sha256:` id or a
   * unique id prefix. Undefined when none matches; an ambiguous prefix is an error.
   */
  getImage(ref: string): ImageRecord | undefined {
    const bare = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (HEX64.test(bare) && this.images[bare]) return this.images[bare];
    const all = Object.values(this.images);
    const byName = all.find((i) => i.names.includes(ref) || i.repoDigests.includes(ref));
    if (byName) return byName;
    if (!/^[0-9a-f]+$/.test(bare)) return undefined;
    const matches = all.filter((i) => i.id.startsWith(bare));
    if (matches.length > 1) throw invalidArgs(`${ref}: more than one image id starts with it`);
    return matches[0];
  }

  listImages(): ImageRecord[] {
    return Object.values(this.images);
  }

  private need(id: string): ImageRecord {
    const img = this.images[id];
    if (!img) throw imageNotFound(`No such image: ${id}`);
    return img;
  }

  /** An image's config blob; the small ones of the last images asked for are kept (every create reads its image's). */
  async imageConfig(id: string): Promise<Buffer> {
    this.need(id);
    const kept = this.configs.get(id);
    if (kept) return kept;
    const bytes = await fsp.readFile(path.join(this.imagesDir, id, 'config'));
    // Its id is its digest: the bytes never change while the image exists.
    if (bytes.length <= MAX_KEPT_CONFIG && this.images[id]) {
      if (this.configs.size >= KEPT_CONFIGS) this.configs.delete(this.configs.keys().next().value!);
      this.configs.set(id, bytes);
    }
    return bytes;
  }

  imageManifest(id: string): Promise<Buffer> {
    this.need(id);
    return fsp.readFile(path.join(this.imagesDir, id, 'manifest'));
  }

  /** Gives `name` to image `id`, taking it from the image that had it. */
  async tag(id: string, name: string): Promise<ImageRecord> {
    this.need(id);
    this.moveName(id, name, 'names');
    await this.imageIndex.write(this.images);
    return this.images[id]!;
  }

  /** Takes `name` (or a repo digest) off its image, which stays (perhaps dangling); returns it. */
  async untag(name: string): Promise<ImageRecord | undefined> {
    const img = Object.values(this.images).find((i) => i.names.includes(name) || i.repoDigests.includes(name));
    if (!img) return undefined;
    img.names = img.names.filter((n) => n !== name);
    img.repoDigests = img.repoDigests.filter((n) => n !== name);
    await this.imageIndex.write(this.images);
    return img;
  }

  /** Removes image `id` and the layers nothing else needs. Refused (exit 2) while a container layer uses it. */
  async removeImage(id: string): Promise<void> {
    await this.removalsSettled();
    const img = this.need(id);
    const user = Object.values(this.containers).find((c) => c.imageId === id);
    if (user) throw imageBusy(`Image used by container ${user.id}: ${img.names[0] ?? id}`);
    delete this.images[id];
    this.configs.delete(id);
    await this.imageIndex.write(this.images);
    await fsp.rm(path.join(this.imagesDir, id), { recursive: true, force: true });
    await this.collectLayers(img.layers);
  }

  /** Removes those of `candidates` no image or container uses, top first. */
  private async collectLayers(candidates: readonly string[]): Promise<void> {
    const used = this.usedLayers();
    const now = Date.now();
    const gone = [...candidates]
      .reverse()
      .filter((l) => this.layers[l] && !used.has(l) && !this.inflight.has(l) && now - (this.touched.get(l) ?? 0) > LAYER_GRACE_MS);
    if (gone.length === 0) return;
    const records = gone.map((l) => this.layers[l]!);
    for (const l of gone) delete this.layers[l];
    await this.layerIndex.write(this.layers);
    for (const r of records) {
      await fsp.rm(path.join(this.linkDir, r.link), { force: true });
      await fsp.rm(this.skeletonFile(r.id), { force: true });
      await fsp.rm(this.layerDir(r.id), { recursive: true, force: true });
      this.touched.delete(r.id);
    }
  }

  // ---- containers ----

  /** Where the container's root filesystem is (mounted by mount() for overlay2). */
  rootfsPath(containerId: string): string {
    return path.join(this.driverDir, containerId, this.driver === 'overlay2' ? 'merged' : 'rootfs');
  }

  containerLayer(containerId: string): ContainerLayerRecord | undefined {
    return this.containers[containerId];
  }

  async createContainerLayer(containerId: string, imageId: string): Promise<ContainerLayerRecord> {
    if (!HEX64.test(containerId)) throw invalidArgs(`container id ${JSON.stringify(containerId)} is not 64 hex digits`);
    if (this.containers[containerId]) throw nameConflict(`container ${containerId} already has a layer`);
    const img = this.need(imageId);
    // Made in place, not in tmp/ and renamed: the record logged below is the commit point, and
    // open() removes a directory no record names (a create SIGKILLed before its flush).
    const dir = path.join(this.driverDir, containerId);
    // On the thread pool, beside the caller's own writes: a mkdir is a journal operation
    // (0.2-0.4 ms on the test VM's ext4). No directory fsync before the record names it: the
    // log's flush forces the filesystem's journal (ext4, xfs: one ordered log) past it.
    try {
      await fsp.mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw nameConflict(`container ${containerId} already has a layer directory`);
      throw e;
    }
    try {
      // overlay2's diff, work and merged are made once the record is written (below).
      if (this.driver === 'vfs') {
        fs.mkdirSync(path.join(dir, 'rootfs'), { mode: 0o755 });
        const layers = img.layers.map((l) => ({
          diff: path.join(this.layerDir(l), 'diff'),
          opaqueDirs: this.layers[l]!.opaqueDirs,
          whiteouts: this.layers[l]!.whiteouts,
        }));
        await buildVfsRoot(path.join(dir, 'rootfs'), layers);
        await syncFilesystem(dir);
      }
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw e;
    }
    const record: ContainerLayerRecord = { id: containerId, imageId, layers: [...img.layers], created: new Date().toISOString() };
    this.containers[containerId] = record;
    try {
      // One line appended and flushed (with those of creates at about the same time).
      await this.containerLog.add(record);
    } catch (e) {
      delete this.containers[containerId];
      await fsp.rm(dir, { recursive: true, force: true });
      throw e;
    }
    this.neverMounted.add(containerId);
    // Not awaited: each mkdir is a journal operation the create's answer need not wait for
    // (the first mount does); made now, they are there by the time a start (a pod's pause: in
    // the same call) mounts the layer.
    if (this.driver === 'overlay2') {
      const made = this.overlayDirs(containerId, img.layers.length === 0);
      made.catch(() => undefined);
      this.dirsMade.set(containerId, made);
    }
    return record;
  }

  /**
   * A container layer's diff, work and merged (and for an image without layers, the empty
   * lower), as the mount needs them: a crash may have left some or all of them unmade (they
   * are not durable before the mount), and a layer of the previous version has them all.
   */
  private async overlayDirs(containerId: string, empty: boolean): Promise<void> {
    const dirs = ['diff', 'work', 'merged', ...(empty ? ['empty'] : [])];
    await Promise.all(
      dirs.map((d) =>
        fsp.mkdir(path.join(this.driverDir, containerId, d), { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        }),
      ),
    );
  }

  /** Mounts the container's root filesystem (overlay2; vfs has nothing to mount) and returns its path. */
  mount(containerId: string): Promise<string> {
    // Two starts at once must not stack two overlays on one mount point.
    const running = this.mounting.get(containerId);
    if (running) return running;
    const p = this.mountOnce(containerId).finally(() => this.mounting.delete(containerId));
    this.mounting.set(containerId, p);
    return p;
  }

  private async mountOnce(containerId: string): Promise<string> {
    const c = this.containers[containerId];
    if (!c) throw notFound(`container ${containerId} has no layer in the image store`);
    const target = this.rootfsPath(containerId);
    // Only a layer this daemon has not seen mounted can be mounted already (after a restart).
    if (this.driver === 'vfs' || (!this.neverMounted.delete(containerId) && isMountPoint(target))) return target;
    const lowers = [...c.layers].reverse().map((l) => {
      const r = this.layers[l];
      if (!r) throw generalError(`container ${containerId}: layer ${l} is missing from the store`);
      return `l/${r.link}`;
    });
    // Made after this daemon's create, or now: a layer from before a restart, or a failed try.
    const made = this.dirsMade.get(containerId) ?? Promise.reject();
    this.dirsMade.delete(containerId);
    await made.catch(() => this.overlayDirs(containerId, lowers.length === 0));
    // Paths relative to the driver directory (mount runs there): 125+ layers in one page.
    const options = [
      `lowerdir=${lowers.length > 0 ? lowers.join(':') : `${containerId}/empty`}`,
      `upperdir=${containerId}/diff`,
      `workdir=${containerId}/work`,
      ...overlayDefaultsOff(),
      ...(this.options.mountOptions ? [this.options.mountOptions] : []),
    ].join(',');
    try {
      await mountFs('overlay', 'overlay', target, options, this.driverDir);
    } catch (e) {
      throw generalError(`mounting the rootfs of container ${containerId}: ${(e as Error).message}`);
    }
    return target;
  }

  async unmount(containerId: string): Promise<void> {
    // A mount still under way (CRI's CreateContainer starts one) would land after this unmount.
    await this.mounting.get(containerId)?.catch(() => undefined);
    if (this.driver === 'overlay2') await unmount(this.rootfsPath(containerId));
  }

  /**
   * Unmounts and removes the container's layer; nothing more to do when it has none. An image
   * removal waits for the removals under way (CRI's RemoveContainer does not wait for its own).
   */
  removeContainerLayer(containerId: string): Promise<void> {
    const p = this.removeContainerLayerNow(containerId).finally(() => {
      if (this.removing.get(containerId) === p) this.removing.delete(containerId);
    });
    this.removing.set(containerId, p);
    return p;
  }

  /** Resolves once the container layer removals under way have ended (image removal, daemon stop). */
  async removalsSettled(): Promise<void> {
    await Promise.allSettled(this.removing.values());
  }

  private async removeContainerLayerNow(containerId: string): Promise<void> {
    await this.unmount(containerId);
    this.neverMounted.delete(containerId);
    await this.dirsMade.get(containerId)?.catch(() => undefined);
    this.dirsMade.delete(containerId);
    if (!this.containers[containerId]) return;
    if (this.driver === 'overlay2' && isMountPoint(this.rootfsPath(containerId))) throw generalError(`container ${containerId}: its rootfs is still mounted`);
    delete this.containers[containerId];
    await this.containerLog.remove(containerId);
    await fsp.rm(path.join(this.driverDir, containerId), { recursive: true, force: true });
  }

  /** At daemon start, once the container records are read: removes the layers of containers that no longer exist. */
  async sweep(knownContainerIds: Iterable<string>): Promise<void> {
    const known = new Set(knownContainerIds);
    for (const id of Object.keys(this.containers)) {
      if (known.has(id)) continue;
      this.log.info(`removing the layer of container ${id}, which no longer exists`);
      await this.removeContainerLayer(id);
    }
  }
}
