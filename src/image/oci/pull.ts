/**
 * `isula pull`: the manifest and config from the registry, then the missing layers downloaded
 * three at a time (as Docker) into the daemon's temp dir, each verified while it streams, and
 * unpacked bottom to top as soon as the layers below are in. Two pulls that need the same
 * blob share one download; a layer the store has is not fetched at all. A cancelled pull
 * (the client went away) stops its downloads and adds no image: layers it already unpacked are
 * referenced by nothing and go with the next sweep or rmi.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generalError, invalidArgs } from '../../api/errors.js';
import type { PullProgress } from '../../api/images.js';
import type { Logger } from '../../sys/log.js';
import type { OciStorePort, ReferencePort, RegistryPort, StoredImage } from './ports.js';
import type { ImageRef, LayerSource, Platform } from './types.js';

/** Docker's default: three layers downloading at a time. */
export const PULL_CONCURRENCY = 3;

export interface PullResult {
  image: StoredImage;
  /** Full name, `host/repo:tag` or `host/repo@digest`. */
  name: string;
  digest: string;
  upToDate: boolean;
}

type Progress = (p: PullProgress) => void;

/** A blob being downloaded to a temp file, shared by every pull that needs it. */
interface Download {
  file: Promise<string>;
  users: number;
  controller: AbortController;
  listeners: Set<(done: number, total: number) => void>;
}

/** `os/arch[/variant]`, as --platform takes it. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw invalidArgs(`invalid platform "${text}": want os/arch[/variant], e.g. linux/arm64/v8`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

/** OCI image-spec config.md: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
function chainIdsOf(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds)
    out.push(
      out.length === 0
        ? d
        : `sha256:${crypto
            .createHash('sha256')
            .update(`${out.at(-1)} ${d}`)
            .digest('hex')}`,
    );
  return out;
}

/** Docker's short layer id: 12 hex digits of the compressed digest. */
export const shortId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

export class Puller {
  private readonly downloads = new Map<string, Download>();

  constructor(
    private readonly store: OciStorePort,
    private readonly registry: RegistryPort,
    private readonly refs: ReferencePort,
    /** Where blobs wait between download and unpack; emptied at every daemon start. */
    private readonly tmpDir: string,
    private readonly log: Logger,
  ) {}

  async pull(text: string, opts: { platform?: Platform; signal: AbortSignal; onProgress: Progress }): Promise<PullResult> {
    const { signal, onProgress } = opts;
    const ref = this.refs.parse(text);
    const name = this.refs.format(ref);
    onProgress({ status: `${ref.tag ?? ref.digest}: Pulling from ${ref.repository}` });
    const fetched = await this.registry.fetchImage(ref, { platform: opts.platform, signal });
    const { source } = fetched;
    const chainIds = chainIdsOf(source.layers.map((l) => l.diffId));
    const repoDigest = this.refs.format({ registry: ref.registry, repository: ref.repository, digest: fetched.manifestDigest } satisfies ImageRef);
    const id = crypto.createHash('sha256').update(source.configBytes).digest('hex');
    const before = this.store.getImage(id);
    const upToDate = before !== undefined && (!ref.tag || before.names.includes(name)) && before.repoDigests.includes(repoDigest);

    const missing = source.layers.map((_, i) => !this.store.hasLayer(chainIds[i]!));
    for (const [i, l] of source.layers.entries())
      onProgress({ layer: { id: shortId(l.descriptor.digest), status: missing[i] ? 'Waiting' : 'Already exists' } });

    // Downloads start in order, at most PULL_CONCURRENCY at a time; each resolves to its file.
    const files = new Map<number, Promise<string>>();
    const held: Download[] = [];
    const release = (): void => {
      for (const d of held.splice(0)) this.leave(d);
    };
    let next = 0;
    let running = 0;
    const slots: (() => void)[] = [];
    const startMore = (): void => {
      while (running < PULL_CONCURRENCY && next < source.layers.length) {
        const i = next++;
        if (!missing[i]) continue;
        running++;
        const layer = source.layers[i]!;
        const file = this.download(layer, signal, held, (done, total) =>
          onProgress({ layer: { id: shortId(layer.descriptor.digest), status: 'Downloading', current: done, total } }),
        );
        file.then(
          () => onProgress({ layer: { id: shortId(layer.descriptor.digest), status: 'Download complete' } }),
          () => undefined,
        );
        files.set(
          i,
          file.finally(() => {
            running--;
            startMore();
            for (const wake of slots.splice(0)) wake();
          }),
        );
      }
    };
    try {
      startMore();
      let parent: string | undefined;
      for (const [i, layer] of source.layers.entries()) {
        const short = shortId(layer.descriptor.digest);
        if (!missing[i] || this.store.hasLayer(chainIds[i]!)) {
          parent = chainIds[i];
          continue;
        }
        // Not started yet means the slots are full: wait for one to free.
        while (!files.has(i)) await new Promise<void>((wake) => slots.push(wake));
        const file = await files.get(i)!;
        if (signal.aborted) throw signal.reason;
        onProgress({ layer: { id: short, status: 'Extracting' } });
        const local: LayerSource = { descriptor: layer.descriptor, diffId: layer.diffId, open: async () => fs.createReadStream(file) };
        const put = await this.store.putLayer(parent, local, (p) => {
          // The store counts the bytes it unpacks: the blob read a second time, from the disk.
          if (p.current !== undefined) onProgress({ layer: { id: short, status: 'Extracting', current: p.current, total: p.total } });
        });
        parent = put.id;
        onProgress({ layer: { id: short, status: 'Pull complete' } });
      }
      if (signal.aborted) throw signal.reason;
      const image = await this.store.addImage(source, ref.tag ? [name] : [], [repoDigest]);
      return { image, name, digest: fetched.manifestDigest, upToDate };
    } finally {
      // Files not awaited yet would reject unhandled once their download is aborted.
      for (const f of files.values()) f.catch(() => undefined);
      release();
    }
  }

  /**
   * This pull's use of a shared download; the file goes when its last user leaves. A shared
   * download that fails for another pull's reason (that pull was cancelled) is tried once more
   * with this pull's own source.
   */
  private download(layer: LayerSource, signal: AbortSignal, held: Download[], onBytes: (done: number, total: number) => void, retry = true): Promise<string> {
    const digest = layer.descriptor.digest;
    let d = this.downloads.get(digest);
    const joined = d !== undefined;
    if (!d) {
      const controller = new AbortController();
      const listeners = new Set<(done: number, total: number) => void>();
      d = { file: this.fetchToFile(layer, controller.signal, listeners), users: 0, controller, listeners };
      this.downloads.set(digest, d);
    }
    const entry = d;
    entry.users++;
    held.push(entry);
    entry.listeners.add(onBytes);
    return new Promise<string>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      entry.file.then(resolve, (e: unknown) => {
        if (this.downloads.get(digest) === entry) this.downloads.delete(digest);
        if (joined && retry && !signal.aborted) this.download(layer, signal, held, onBytes, false).then(resolve, reject);
        else reject(e);
      });
    }).finally(() => entry.listeners.delete(onBytes));
  }

  private leave(d: Download): void {
    if (--d.users > 0) return;
    for (const [digest, entry] of this.downloads) if (entry === d) this.downloads.delete(digest);
    d.controller.abort(generalError('pull cancelled'));
    void d.file.then(
      (file) => fsp.rm(file, { force: true }),
      () => undefined,
    );
  }

  /** Streams the blob (verified by the registry client as it flows) into a temp file. */
  private async fetchToFile(layer: LayerSource, signal: AbortSignal, listeners: Set<(done: number, total: number) => void>): Promise<string> {
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.tmpDir, `${layer.descriptor.digest.replace(/^sha256:/, '')}-${crypto.randomBytes(4).toString('hex')}`);
    const total = layer.descriptor.size;
    let done = 0;
    let lastReport = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        // A message per chunk would be thousands a second: one every 256 KiB and the last.
        if (done - lastReport >= 256 * 1024 || done === total) {
          lastReport = done;
          for (const l of listeners) l(done, total);
        }
        cb(null, chunk);
      },
    });
    try {
      const body = await layer.open();
      await pipeline(body, count, fs.createWriteStream(file, { mode: 0o600 }), { signal });
      return file;
    } catch (e) {
      await fsp.rm(file, { force: true });
      if (signal.aborted) throw signal.reason;
      this.log.debug(`download of ${layer.descriptor.digest} failed: ${(e as Error).message}`);
      throw e;
    }
  }
}
