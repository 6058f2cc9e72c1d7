/**
 * `isula pull`: the manifest and config from the registry, then the missing layers, three at
 * a time (as Docker), each streamed from the registry (verified as it flows) straight into
 * the store's unpacking: no temp copy of the blob. The store commits each layer after its
 * parent, and shares one download and unpack between pulls that need the same layer; a
 * layer it has is not fetched at all. A cancelled pull (the client went away) aborts its
 * requests and adds no image: layers it already committed are referenced by nothing and go
 * with the next start's recovery or the next rmi.
 */
import crypto from 'node:crypto';
import type { PullProgress } from '../../api/images.js';
import type { OciStorePort, ReferencePort, RegistryAuth, RegistryPort, StoredImage } from './ports.js';
import { chainIds as chainIdsOf } from './storage/store.js';
import { warmUnpackThread } from './storage/unpack-thread.js';
import type { ImageRef, LayerSource, Platform } from './types.js';

/** Docker's default: three layers downloading at a time. */
export const PULL_CONCURRENCY = 3;

export interface PullResult {
  image: StoredImage;
  /** Full name, `host/repo:tag` or `host/repo@digest`. */
  name: string;
  /** Its short form, `busybox:latest`. */
  familiar: string;
  digest: string;
  upToDate: boolean;
}

/** Docker's short layer id: 12 hex digits of the compressed digest. */
export const shortId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** Runs `jobs` in order, at most `limit` at a time; rejects with the first failure, after the started ones settle. */
async function inOrder(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failure) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failure) throw failure.error;
}

export class Puller {
  constructor(
    private readonly store: OciStorePort,
    private readonly registry: RegistryPort,
    private readonly refs: ReferencePort,
  ) {}

  async pull(
    text: string,
    opts: { platform?: Platform; signal: AbortSignal; onProgress: (p: PullProgress) => void; auth?: RegistryAuth },
  ): Promise<PullResult> {
    const { signal, onProgress } = opts;
    const ref = this.refs.parse(text);
    const name = this.refs.format(ref);
    // The unpacking thread starts while the manifest comes (a pull of an image present leaves it idle, to end).
    warmUnpackThread();
    const fetched = await this.registry.fetchImage(ref, { platform: opts.platform, signal, ...(opts.auth ? { auth: opts.auth } : {}) });
    // After the manifest, as Docker: a pull that fails to find the image says only why.
    onProgress({ status: `${ref.tag ?? ref.digest}: Pulling from ${ref.repository}` });
    const { source } = fetched;
    const chainIds = chainIdsOf(source.layers.map((l) => l.diffId));
    const repoDigest = this.refs.format({ registry: ref.registry, repository: ref.repository, digest: fetched.manifestDigest } satisfies ImageRef);
    const before = this.store.getImage(crypto.createHash('sha256').update(source.configBytes).digest('hex'));
    const upToDate = before !== undefined && (!ref.tag || before.names.includes(name)) && before.repoDigests.includes(repoDigest);

    const missing = source.layers.map((_, i) => !this.store.hasLayer(chainIds[i]!));
    for (const [i, l] of source.layers.entries()) {
      onProgress({ layer: { id: shortId(l.descriptor.digest), status: missing[i] ? 'Waiting' : 'Already exists' } });
    }
    // The limit is on downloads, as Docker's: a layer frees its slot once its bytes are in
    // (unpacked and verified) and commits (syncfs, waiting for its parent) while the next downloads.
    const puts: Promise<void>[] = [];
    const jobs = source.layers.flatMap((layer, i) =>
      missing[i]
        ? [
            () =>
              new Promise<void>((downloaded, failed) => {
                const put = this.putLayer(i === 0 ? undefined : chainIds[i - 1], layer, signal, onProgress, downloaded);
                puts.push(put);
                put.then(downloaded, failed);
              }),
          ]
        : [],
    );
    const started = inOrder(jobs, PULL_CONCURRENCY);
    await started.finally(() => Promise.allSettled(puts));
    await Promise.all(puts);
    if (signal.aborted) throw signal.reason;
    const image = await this.store.addImage(source, ref.tag ? [name] : [], [repoDigest]);
    return { image, name, familiar: this.refs.familiar(name), digest: fetched.manifestDigest, upToDate };
  }

  /**
   * One layer into the store. Another pull may be putting the same layer (the store shares
   * it): if that one is cancelled, this pull tries once more with its own stream.
   */
  private async putLayer(
    parent: string | undefined,
    layer: LayerSource,
    signal: AbortSignal,
    onProgress: (p: PullProgress) => void,
    downloaded: () => void,
  ): Promise<void> {
    const id = shortId(layer.descriptor.digest);
    const report = (p: { status: string; current?: number; total?: number }): void => {
      if (p.status === 'Download complete') downloaded();
      // The store's own "Already exists" for a layer a concurrent pull just committed reads as done.
      const status = p.status === 'Already exists' ? 'Pull complete' : p.status;
      onProgress({ layer: { id, status, ...(p.current !== undefined ? { current: p.current, total: p.total } : {}) } });
    };
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw signal.reason;
      try {
        await this.store.putLayer(parent, layer, report);
        report({ status: 'Pull complete' });
        return;
      } catch (e) {
        if (signal.aborted || attempt > 0) throw e;
      }
    }
  }
}
