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
