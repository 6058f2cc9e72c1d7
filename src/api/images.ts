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
  /** The first name (`repo:tag`, familiar form), `<none>:<none>` for an untagged image. */
  name: string;
  digest: string;
  created: string;
  size: number;
  type: string;
  /** Every name of the image (OCI images can have several); absent for embedded ones. */
  names?: string[];
  /** `repo@sha256:...` of the manifests the image was pulled or pushed as. */
  repoDigests?: string[];
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

/** What `rmi` did, one line each, as Docker prints them (`Untagged: ...`, `Deleted: ...`). */
export interface RemoveImageResponse {
  untagged?: string[];
  deleted?: string[];
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

/** `isula pull` / `run --pull`: streams progress, ends with the digest. */
export interface PullRequest {
  image: string;
  /** `os/arch[/variant]`; the host's when absent. */
  platform?: string;
}

/** One message of a pull or push: a layer's progress, a status line, or the end. */
export interface PullProgress {
  layer?: { id: string; status: string; current?: number; total?: number };
  /** A line shown as is: `latest: Pulling from library/busybox`. */
  status?: string;
  /** On the last message: the manifest digest, and the image's full name. */
  digest?: string;
  name?: string;
  /** The name in its short form (`busybox:latest`), as Docker's status line shows it. */
  familiar?: string;
  /** The image was already present with this digest (Docker's "Image is up to date"). */
  upToDate?: boolean;
}

export interface PushRequest {
  image: string;
}

export interface LoginRequest {
  server: string;
  username: string;
  password: string;
}

export interface LogoutRequest {
  server: string;
}

export interface TagRequest {
  source: string;
  target: string;
}

export interface HistoryRequest {
  name: string;
}

export interface HistoryEntry {
  /** The image id on the top entry, `<missing>` below as Docker shows. */
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
}

export interface HistoryResponse {
  entries: HistoryEntry[];
}

export interface PruneImagesRequest {
  /** Every image no container uses, not only the untagged ones. */
  all: boolean;
  filters: Record<string, string[]>;
}

export interface PruneImagesResponse {
  deleted: string[];
  /** Bytes of layers removed. */
  reclaimed: number;
}
