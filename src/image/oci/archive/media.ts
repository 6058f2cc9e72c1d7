import { MediaType as MT } from '../media-types.js';
import { hostPlatform } from '../registry/manifest.js';

export { MT };

export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList];
export const LAYER_TYPES: readonly string[] = [MT.ociLayer, MT.ociLayerGzip, MT.ociLayerZstd, MT.dockerLayer, MT.dockerLayerGzip];

/** Annotation keys: the OCI spec's ref name, and containerd's full image name (Docker 25+ writes both). */
export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';

/** The layer media type for bytes that start with `head`: gzip, zstd or plain tar. */
export function layerTypeOf(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MT.ociLayerGzip;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return MT.ociLayerZstd;
  return MT.ociLayer;
}

/** The OCI platform architecture of this host (Go's GOARCH names). */
export const hostArchitecture = (): string => hostPlatform().architecture;
