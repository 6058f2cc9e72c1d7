/** Messages of isulad.ImageService. */

export interface LoadRequest {
  /** Absolute path of the manifest (embedded) or archive. */
  path: string;
  type: string;
  tag?: string;
}

export interface LoadResponse {
  name: string;
  /** False when the same manifest was loaded before (an idempotent reload). */
  created: boolean;
  /** Archives (docker type): Docker's lines, `Loaded image: NAME` or `Loaded image ID: sha256:...`. */
  loaded?: string[];
}

export interface ImageSummary {
  id: string;
  name: string;
  digest: string;
  created: string;
  size: number;
  type: string;
}

export interface ListImagesRequest {
  filters: Record<string, string[]>;
}

export interface ListImagesResponse {
  images: ImageSummary[];
}

export interface RemoveImageRequest {
  name: string;
  force: boolean;
}

export interface InspectImageRequest {
  name: string;
}

export interface InspectImageResponse {
  json: string;
}

/** isula save: the images, by name or id, into one docker-archive streamed back as chunks. */
export interface SaveRequest {
  names: string[];
}

/** A piece of a tar stream (save, export). */
export interface ArchiveChunk {
  data: Uint8Array;
}

/** isula import: a rootfs tarball on the daemon's host (absolute path) as a one-layer image. */
export interface ImportRequest {
  path: string;
  reference: string;
  /** What the history says it was imported from, when not `path` (`-` for stdin). */
  source?: string;
}

export interface ImportResponse {
  /** `sha256:<hex>` of the new image's config. */
  id: string;
}
