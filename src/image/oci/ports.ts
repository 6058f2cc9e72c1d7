/**
 * What the back-end, pull and the image verbs use of the store (`storage/`), the registry
 * client (`registry/`) and references (`reference.ts`): the engine hands these in, so this
 * side depends on the few calls it makes, not on how they are built.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, ImageRef, ImageSource, LayerProgress, LayerSource, Platform } from './types.js';

/** One image of the store (the store's record). */
export interface StoredImage {
  /** sha256 hex of the config blob. */
  id: string;
  /** Full normalized names (`host/repo:tag`). */
  names: string[];
  /** `host/repo@sha256:...`, the manifests it was pulled or pushed as. */
  repoDigests: string[];
  /** Chain ids, bottom to top. */
  layers: string[];
  /** The config's `created`. */
  created?: string;
  /** When it was added. */
  loaded: string;
  /** Bytes of its layers unpacked. */
  size: number;
}

export interface OciStorePort {
  readonly driver: string;
  hasLayer(chainId: string): boolean;
  layerRecord(chainId: string): { size: number; compressedDigest: string; compressedSize: number; mediaType: string } | undefined;
  putLayer(parent: string | undefined, src: LayerSource, onProgress?: (p: LayerProgress) => void): Promise<{ id: string }>;
  /** The layer's uncompressed tar, bytes as unpacked (the diff_id holds). */
  layerTar(chainId: string): Readable;
  addImage(src: ImageSource, names: readonly string[], repoDigests: readonly string[]): Promise<StoredImage>;
  /** By full name, `repo@digest`, id or unique id prefix. */
  getImage(ref: string): StoredImage | undefined;
  listImages(): StoredImage[];
  imageConfig(id: string): Promise<Buffer>;
  /** Moves `name` to the image (off any other). */
  tag(id: string, name: string): Promise<unknown>;
  untag(name: string): Promise<unknown>;
  /** Deletes the image and the layers nothing else uses; refused while a container layer uses it. */
  removeImage(id: string): Promise<void>;
  createContainerLayer(containerId: string, imageId: string): Promise<unknown>;
  /** The container's layer once its creation is recorded. */
  containerLayer(containerId: string): unknown;
  /** Where the container's rootfs is once mounted. */
  rootfsPath(containerId: string): string;
  /** Mounts (if not yet) and returns the container's rootfs directory. */
  mount(containerId: string): Promise<string>;
  unmount(containerId: string): Promise<void>;
  removeContainerLayer(containerId: string): Promise<void>;
  /** Resolves once the container layer removals under way have ended. */
  removalsSettled(): Promise<void>;
  /** At start: removes the layers of containers that no longer exist. */
  sweep(knownContainerIds: Iterable<string>): Promise<void>;
}

export interface FetchedImage {
  source: ImageSource;
  /** `sha256:` of the manifest chosen (after the platform pick). */
  manifestDigest: string;
  /** The reference the registry was asked (after mirrors and transformation). */
  registryRef: ImageRef;
}

export interface PushLayer {
  diffId: string;
  /** The blob the layer was pulled as: a registry that has it is not sent it again. */
  compressed?: Descriptor;
  open(): Promise<Readable> | Readable;
}

/** Credentials for one call (a CRI pull's AuthConfig): used for it only, never stored. */
export interface RegistryAuth {
  username: string;
  password: string;
}

export interface RegistryPort {
  /** `auth`: instead of the stored credentials of the registry. */
  fetchImage(ref: ImageRef, opts: { platform?: Platform; signal?: AbortSignal; auth?: RegistryAuth }): Promise<FetchedImage>;
  pushImage(
    ref: ImageRef,
    image: { configBytes: Buffer; layers: PushLayer[] },
    opts: {
      signal?: AbortSignal;
      onLayer?: (diffId: string, status: 'Preparing' | 'Pushing' | 'Pushed' | 'Layer already exists', done?: number, total?: number) => void;
    },
  ): Promise<string>;
  /** Checks the credentials against the registry, then stores them. */
  login(server: string, username: string, password: string): Promise<void>;
  logout(server: string): Promise<void>;
}

export interface ReferencePort {
  /** Parses and normalizes (`busybox` → docker.io/library/busybox:latest); throws a clear invalidArgs. */
  parse(text: string): ImageRef;
  /** `host/repo:tag` or `host/repo@digest`. */
  format(ref: ImageRef): string;
  /** The short form users see: `busybox:latest` for docker.io/library/busybox:latest. */
  familiar(full: string): string;
}
