/**
 * The contract between the OCI image back-end's parts: the registry client (`registry/`) and
 * the archive readers (`archive/`) produce images as descriptors and blob streams; the store
 * (`storage/`) keeps layers, images and container layers; `pull.ts`, `verbs.ts` and
 * `backend.ts` join them. Facts of the OCI image and distribution specs, not our choices,
 * are marked as such.
 */
import type { Readable } from 'node:stream';

/** OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 hex>`. */
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** image-spec image-index.md `platform`. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** The container defaults of an image config (image-spec config.md `config`); Docker's names. */
export interface ContainerDefaults {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker's extension, kept as given. */
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
}

/** An image config blob (application/vnd.oci.image.config.v1+json or Docker's container.image.v1). */
export interface ImageConfigFile {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerDefaults;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

/** A normalized image reference: `registry/repository[:tag][@digest]`, docker.io's `library/` added. */
export interface ImageRef {
  /** Host[:port], after the default-registry rule (unqualified names → docker.io). */
  registry: string;
  /** Path inside the registry, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** One layer of an image being added to the store, from a registry or an archive. */
export interface LayerSource {
  /** As the manifest gives it: compressed digest, size and media type (gzip, zstd or plain tar). */
  descriptor: Descriptor;
  /** rootfs.diff_ids[i] of the config: the digest of the uncompressed tar. */
  diffId: string;
  /**
   * The blob's bytes. The stream errors (and the store keeps nothing of the layer) when the
   * bytes do not match `descriptor.digest` / `descriptor.size`.
   */
  open(): Promise<Readable>;
  /**
   * The same bytes not checked, for a consumer that checks them against `descriptor` itself
   * before using anything (the store's unpacking does, off the main thread); `what` names the
   * blob in the errors, as open()'s stream would. Each chunk is a buffer of its own, held by
   * nothing else once emitted (the consumer may hand it to another thread).
   */
  openUnverified?(): Promise<{ body: Readable; what: string }>;
}

/** Everything needed to add one image to the store. */
export interface ImageSource {
  /** The config blob as fetched: its sha256 is the image id. */
  configBytes: Buffer;
  config: ImageConfigFile;
  /** Bottom to top; the same length and order as config.rootfs.diff_ids. */
  layers: LayerSource[];
  /** The manifest as fetched (kept for push, save and `--digests`). */
  manifestBytes: Buffer;
  manifestMediaType: string;
}

/** Progress of one layer, for the client's bars (docker pull's vocabulary). */
export interface LayerProgress {
  /** The layer's compressed digest, shortened by the client. */
  id: string;
  status: 'Waiting' | 'Already exists' | 'Downloading' | 'Verifying Checksum' | 'Download complete' | 'Extracting' | 'Pull complete';
  current?: number;
  total?: number;
}
