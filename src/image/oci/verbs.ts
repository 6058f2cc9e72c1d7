/**
 * The OCI image verbs: pull, push, login, logout, tag, images, rmi, inspect, history and
 * images prune, on the store, the registry client and references the engine hands in.
 */
import { fault, imageBusy, imageNotFound, invalidArgs } from '../../api/errors.js';
import type { HistoryEntry, ImageSummary, PullProgress, RemoveImageResponse } from '../../api/images.js';
import { findImage, readImageConfig } from './backend.js';
import type { OciStorePort, ReferencePort, RegistryAuth, RegistryPort, StoredImage } from './ports.js';
import type { ImageConfigFile } from './types.js';
import { Puller, type PullResult } from './pull.js';
import { parsePlatform } from './registry/index.js';

/** A container made from an image, as far as removing the image cares. */
export interface ImageUser {
  id: string;
  running: boolean;
}

export interface OciImageDeps {
  store: OciStorePort;
  registry: RegistryPort;
  refs: ReferencePort;
  /** The containers made from the image with this id. */
  usersOf(imageId: string): ImageUser[];
  /** Records an image event (pull, push, tag, untag, delete, login, logout). */
  emit(action: string, name: string, attributes: Record<string, string>): void;
}

const hex = (id: string): string => id.replace(/^sha256:/, '');

/** Go's path.Match subset Docker's reference filter uses: `*` and `?` never match `/`. */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Docker's reference filter: a glob over `repo` or `repo:tag`. */
function referenceMatches(pattern: string, familiar: string): boolean {
  const re = globRegExp(pattern);
  return re.test(familiar) || re.test(repoOf(familiar));
}

export class OciImages {
  readonly puller: Puller;

  constructor(private readonly deps: OciImageDeps) {
    this.puller = new Puller(deps.store, deps.registry, deps.refs);
  }

  get store(): OciStorePort {
    return this.deps.store;
  }

  find(text: string): StoredImage | undefined {
    return findImage(this.deps.store, this.deps.refs, text);
  }

  private get(text: string): StoredImage {
    const image = this.find(text);
    if (!image) throw imageNotFound(`No such image: ${text}`);
    return image;
  }

  /** `auth`: credentials for this pull only (CRI's AuthConfig), instead of the stored ones. */
  async pull(text: string, platform: string | undefined, signal: AbortSignal, onProgress: (p: PullProgress) => void, auth?: RegistryAuth): Promise<PullResult> {
    const result = await this.puller.pull(text, {
      platform: platform ? parsePlatform(platform) : undefined,
      signal,
      onProgress,
      ...(auth ? { auth } : {}),
    });
    this.deps.emit('pull', result.name, { name: result.name });
    return result;
  }

  async push(text: string, signal: AbortSignal, onProgress: (p: PullProgress) => void): Promise<string> {
    const { refs, store, registry } = this.deps;
    const ref = refs.parse(text);
    const image = this.get(text);
    onProgress({ status: `The push refers to repository [${ref.registry}/${ref.repository}]` });
    const configBytes = await store.imageConfig(image.id);
    const diffIds = (await readImageConfig(store, image)).rootfs.diff_ids;
    const digest = await registry.pushImage(
      ref,
      {
        configBytes,
        layers: image.layers.map((chainId, i) => {
          const l = store.layerRecord(chainId);
          return {
            diffId: diffIds[i]!,
            ...(l ? { compressed: { mediaType: l.mediaType, digest: l.compressedDigest, size: l.compressedSize } } : {}),
            open: () => store.layerTar(chainId),
          };
        }),
      },
      { signal, onLayer: (diffId, status) => onProgress({ layer: { id: hex(diffId).slice(0, 12), status } }) },
    );
    const name = refs.format(ref);
    this.deps.emit('push', name, { name });
    return digest;
  }

  async login(server: string, username: string, password: string): Promise<void> {
    if (!server) throw invalidArgs('login needs a registry server');
    await this.deps.registry.login(server, username, password);
    this.deps.emit('login', server, { name: server });
  }

  async logout(server: string): Promise<void> {
    await this.deps.registry.logout(server);
    this.deps.emit('logout', server, { name: server });
  }

  async tag(source: string, target: string): Promise<void> {
    const image = this.get(source);
    const ref = this.deps.refs.parse(target);
    if (ref.digest) throw invalidArgs(`refusing to create a tag with a digest reference: ${target}`);
    const name = this.deps.refs.format(ref);
    await this.deps.store.tag(image.id, name);
    this.deps.emit('tag', name, { name, id: `sha256:${image.id}` });
  }

  /** One row per name (an untagged image once, as `<none>:<none>`), newest first, as `docker images`. */
  list(filters: Record<string, string[]>): ImageSummary[] {
    const { refs } = this.deps;
    for (const k of Object.keys(filters)) {
      if (k !== 'dangling' && k !== 'reference') throw fault('InvalidArgument', `Invalid filter '${k}'`);
    }
    const dangling = filters.dangling?.at(-1);
    if (dangling !== undefined && dangling !== 'true' && dangling !== 'false') throw invalidArgs(`Invalid filter 'dangling=${dangling}': want true or false`);
    const patterns = filters.reference ?? [];
    const rows: ImageSummary[] = [];
    const created = (i: StoredImage): string => i.created ?? i.loaded;
    const images = [...this.deps.store.listImages()].sort((a, b) => created(b).localeCompare(created(a)));
    for (const image of images) {
      if (dangling === 'true' && image.names.length > 0) continue;
      if (dangling === 'false' && image.names.length === 0) continue;
      const familiar = image.names.map((n) => refs.familiar(n));
      const shown = patterns.length === 0 ? familiar : familiar.filter((f) => patterns.some((p) => referenceMatches(p, f)));
      if (patterns.length > 0 && shown.length === 0) continue;
      const repoDigests = image.repoDigests.map((d) => refs.familiar(d));
      const common = { id: hex(image.id), created: created(image), size: image.size, type: 'oci', names: familiar, repoDigests };
      if (shown.length === 0) rows.push({ ...common, name: '<none>:<none>', digest: digestFor(repoDigests, '<none>') });
      for (const name of shown) rows.push({ ...common, name, digest: digestFor(repoDigests, repoOf(name)) });
    }
    return rows;
  }

  /**
   * `isula rmi`: a name of several is untagged only; the last name, an id or a digest deletes
   * the image and the layers no other image or container needs. Refused (exit 2) while a
   * container uses it; with -f only while one runs.
   */
  async remove(text: string, force: boolean): Promise<RemoveImageResponse> {
    const { store, refs } = this.deps;
    const image = this.get(text);
    let byName: string | undefined;
    let byDigest: string | undefined;
    try {
      const ref = refs.parse(text);
      const full = refs.format(ref);
      if (!ref.digest && image.names.includes(full)) byName = full;
      if (ref.digest && image.repoDigests.includes(full)) byDigest = full;
    } catch {
      // an id
    }
    const untagged: string[] = [];
    // As Docker: `rmi repo@sha256:...` takes off that digest reference only while the image
    // keeps another name or digest; the last reference deletes it.
    if (byDigest && image.names.length + image.repoDigests.length > 1) {
      await store.untag(byDigest);
      this.deps.emit('untag', byDigest, { name: byDigest, id: `sha256:${image.id}` });
      return { untagged: [refs.familiar(byDigest)] };
    }
    if (byName && image.names.length > 1) {
      await store.untag(byName);
      this.deps.emit('untag', byName, { name: byName, id: `sha256:${image.id}` });
      return { untagged: [refs.familiar(byName)] };
    }
    if (!byName && !byDigest && image.names.length > 1 && !force) {
      throw fault(
        'FailedPrecondition',
        `conflict: unable to delete ${hex(image.id).slice(0, 12)} (must be forced) - image is referenced in multiple repositories`,
        2,
      );
    }
    const users = this.deps.usersOf(image.id);
    const blocking = force ? users.filter((u) => u.running) : users;
    if (blocking.length > 0) {
      const what = force ? 'running container' : 'container';
      throw imageBusy(
        `conflict: unable to remove image ${byName ? refs.familiar(byName) : hex(image.id).slice(0, 12)} - ${what} ${blocking[0]!.id.slice(0, 12)} is using it`,
      );
    }
    for (const name of image.names) {
      await store.untag(name);
      untagged.push(refs.familiar(name));
      this.deps.emit('untag', name, { name, id: `sha256:${image.id}` });
    }
    // -f with stopped containers on it: untagged (dangling) but kept, their rootfs need its layers.
    if (users.length > 0) return { untagged };
    await store.removeImage(image.id);
    this.deps.emit('delete', `sha256:${image.id}`, { name: byName ?? `sha256:${image.id}` });
    return { untagged, deleted: [`sha256:${image.id}`] };
  }

  /** The image's config file as stored (CRI's ImageStatus reads User and shows it verbose). */
  config(image: StoredImage): Promise<ImageConfigFile> {
    return readImageConfig(this.deps.store, image);
  }

  /** `isula inspect IMAGE`, in Docker's shape. */
  async inspect(text: string): Promise<unknown> {
    const image = this.get(text);
    const { refs } = this.deps;
    const cfg = await readImageConfig(this.deps.store, image);
    return {
      Id: `sha256:${image.id}`,
      RepoTags: image.names.map((n) => refs.familiar(n)),
      RepoDigests: image.repoDigests.map((d) => refs.familiar(d)),
      Parent: '',
      Comment: cfg.history?.at(-1)?.comment ?? '',
      Created: cfg.created ?? image.loaded,
      Author: cfg.author ?? '',
      Config: cfg.config ?? {},
      Architecture: cfg.architecture,
      ...(cfg.variant ? { Variant: cfg.variant } : {}),
      Os: cfg.os,
      Size: image.size,
      GraphDriver: { Name: this.deps.store.driver },
      RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
    };
  }

  /** `isula history`: the config's history, newest first; sizes of the entries that made layers. */
  async history(text: string): Promise<HistoryEntry[]> {
    const image = this.get(text);
    const layerSize = (chainId: string): number => this.deps.store.layerRecord(chainId)?.size ?? 0;
    const entries = (await readImageConfig(this.deps.store, image)).history ?? [];
    let layer = 0;
    const out: HistoryEntry[] = entries.map((h) => {
      const size = h.empty_layer ? 0 : layerSize(image.layers[layer++] ?? '');
      return { id: '<missing>', created: h.created ?? '', createdBy: h.created_by ?? '', size, comment: h.comment ?? '' };
    });
    // An image without history (import, some builders): one entry per layer.
    if (out.length === 0) {
      for (const chainId of image.layers)
        out.push({ id: '<missing>', created: image.created ?? image.loaded, createdBy: '', size: layerSize(chainId), comment: '' });
    }
    out.reverse();
    if (out[0]) out[0].id = `sha256:${image.id}`;
    return out;
  }

  /** `isula images prune [-a]`: images no container uses; without -a only untagged ones. */
  async prune(all: boolean, filters: Record<string, string[]>): Promise<{ deleted: string[]; reclaimed: number }> {
    for (const k of Object.keys(filters)) if (k !== 'dangling') throw invalidArgs(`Invalid filter '${k}'`);
    const dangling = filters.dangling?.at(-1);
    const onlyDangling = dangling === undefined ? !all : dangling === 'true';
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const image of this.deps.store.listImages()) {
      if (onlyDangling && image.names.length > 0) continue;
      if (this.deps.usersOf(image.id).length > 0) continue;
      for (const name of image.names) {
        await this.deps.store.untag(name);
        this.deps.emit('untag', name, { name, id: `sha256:${image.id}` });
      }
      await this.deps.store.removeImage(image.id);
      this.deps.emit('delete', `sha256:${image.id}`, { name: `sha256:${image.id}` });
      deleted.push(`sha256:${image.id}`);
      reclaimed += image.size;
    }
    return { deleted, reclaimed };
  }
}

const repoOf = (familiar: string): string => {
  const colon = familiar.lastIndexOf(':');
  return colon > familiar.lastIndexOf('/') ? familiar.slice(0, colon) : familiar;
};

/** The digest of the repo digest that belongs to `repo`, `<none>` when there is none. */
function digestFor(repoDigests: string[], repo: string): string {
  const found = repoDigests.find((d) => d.startsWith(`${repo}@`)) ?? (repo === '<none>' ? repoDigests[0] : undefined);
  return found ? found.slice(found.indexOf('@') + 1) : '<none>';
}
