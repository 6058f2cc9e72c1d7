/**
 * What the back-end, pull and the image verbs use of the store (`storage/`), the registry
 * client (`registry/`) and references (`reference.ts`): the engine hands these in, so this
 * side depends on the few calls it makes, not on how they are built.
 */
import type { Readable } from 'node:stream';
import type { ImageConfigFile, ImageRef, ImageSource, LayerSource, Platform } from './types.js';

/** One image of the store. */
export interface StoredImage {
  /** `sha256:<hex>` of the config blob. */
  id: string;
  /** Full normalized names (`host/repo:tag`), newest first. */
  names: string[];
  /** `host/repo@sha256:...`, the manifests it was pulled or pushed as. */
  repoDigests: string[];
  /** Config `created`, or when it was added. */
  created: string;
  /** Bytes of its layers unpacked. */
  size: number;
  config: ImageConfigFile;
  configBytes: Buffer;
  /** Bottom to top. */
  chainIds: string[];
}

export interface OciStorePort {
  readonly driver: string;
  chainIds(diffIds: string[]): string[];
  hasLayer(chainId: string): boolean;
  /** Bytes of the layer unpacked (its own, not its parents'). */
  layerSize(chainId: string): number;
  putLayer(parent: string | undefined, src: LayerSource, onProgress?: (done: number, total?: number) => void): Promise<string>;
  /** The layer's uncompressed tar, bytes as unpacked (the diff_id holds). */
  layerTar(chainId: string): Promise<Readable>;
  addImage(src: ImageSource, names: string[], repoDigests: string[]): Promise<StoredImage>;
  /** By full name, `repo@digest`, id or unique id prefix. */
  getImage(ref: string): StoredImage | undefined;
  listImages(): StoredImage[];
  /** Moves `name` to the image (off any other). */
  tag(id: string, name: string): Promise<void>;
  untag(name: string): Promise<void>;
  /** Deletes the image and the layers nothing else uses. */
  removeImage(id: string): Promise<void>;
  createContainerLayer(containerId: string, imageId: string): Promise<void>;
  /** Mounts (if not yet) and returns the container's rootfs directory. */
  mount(containerId: string): Promise<string>;
  unmount(containerId: string): Promise<void>;
  removeContainerLayer(containerId: string): Promise<void>;
  /** At start: removes container layers whose container is unknown, half-made layers, unreferenced records. */
  sweep(knownContainerIds: string[]): Promise<void>;
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
  open(): Promise<Readable>;
}

export interface RegistryPort {
  fetchImage(ref: ImageRef, opts: { platform?: Platform; signal?: AbortSignal }): Promise<FetchedImage>;
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
