/**
 * Manifests and indexes as registries send them: Docker schema 2 and its manifest list, OCI
 * image manifests and indexes (facts of image-spec manifest.md / image-index.md and Docker's
 * manifest-v2-2.md), checked before anything in them is used; and the platform pick.
 */
import os from 'node:os';
import { fault, generalError, imageNotFound, invalidArgs } from '../../../api/errors.js';
import { MediaType } from '../media-types.js';
import { isDigest } from '../reference.js';
import type { Descriptor, ImageConfigFile, Platform } from '../types.js';

export { MediaType };

/** What we ask for, in order of preference (no schema 1: a registry might convert to it). */
export const ACCEPT_MANIFESTS = [MediaType.ociIndex, MediaType.dockerList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

const LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaType.dockerLayerGzip,
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  // Deprecated, same bytes as their distributable twins.
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.dockerConfig, MediaType.ociConfig]);

/** Blobs larger than this are refused before download (a layer of a real image is far less). */
export const MAX_BLOB_SIZE = 64 * 1024 * 1024 * 1024;

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] };

const bad = (what: string, why: string): Error => generalError(`invalid ${what}: ${why}`);

function descriptor(v: unknown, what: string): Descriptor {
  if (typeof v !== 'object' || v === null) throw bad(what, 'not an object');
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType.length === 0 || d.mediaType.length > 255) throw bad(what, 'missing mediaType');
  if (typeof d.digest !== 'string') throw bad(what, 'missing digest');
  if (!isDigest(d.digest)) throw bad(what, `digest ${JSON.stringify(d.digest.slice(0, 80))} is not sha256:<64 hex digits>`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw bad(what, 'size is not a non-negative integer');
  if (d.size > MAX_BLOB_SIZE) throw bad(what, `size ${d.size} is beyond ${MAX_BLOB_SIZE} bytes`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (Array.isArray(d.urls) && d.urls.every((u) => typeof u === 'string')) out.urls = d.urls as string[];
  if (typeof d.annotations === 'object' && d.annotations !== null) out.annotations = d.annotations as Record<string, string>;
  if (typeof d.platform === 'object' && d.platform !== null) {
    const p = d.platform as Record<string, unknown>;
    if (typeof p.architecture === 'string' && typeof p.os === 'string') {
      out.platform = { architecture: p.architecture, os: p.os };
      if (typeof p.variant === 'string') out.platform.variant = p.variant;
    }
  }
  return out;
}

/**
 * Parses a manifest or index. The kind comes from the body's `mediaType`, else the
 * Content-Type, else its shape; schema 1 and unknown kinds are refused with a clear error.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, name: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bad(`manifest of ${name}`, `not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(`manifest of ${name}`, 'not a JSON object');
  const m = doc as Record<string, unknown>;
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  if (m.schemaVersion === 1 || ct === MediaType.dockerSchema1 || ct === MediaType.dockerSchema1Signed) {
    throw fault(
      'Unimplemented',
      `${name} has a Docker image manifest schema 1, which is deprecated and not supported: push the image again with a current client (Docker schema 2 or OCI)`,
    );
  }
  if (m.schemaVersion !== 2) throw bad(`manifest of ${name}`, `schemaVersion ${JSON.stringify(m.schemaVersion)} is not 2`);
  let mediaType = typeof m.mediaType === 'string' ? m.mediaType : ct && ct !== 'application/json' && ct !== 'application/octet-stream' ? ct : undefined;
  if (mediaType === undefined) mediaType = Array.isArray(m.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList) {
    if (!Array.isArray(m.manifests)) throw bad(`index of ${name}`, 'no manifests array');
    return { kind: 'index', mediaType, manifests: m.manifests.map((d, i) => descriptor(d, `index of ${name}, manifests[${i}]`)) };
  }
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) {
    const config = descriptor(m.config, `manifest of ${name}, config`);
    if (!CONFIG_TYPES.has(config.mediaType))
      throw bad(`manifest of ${name}`, `config media type ${config.mediaType} is not an image config (an artifact, not an image?)`);
    if (config.size > 4 * 1024 * 1024) throw bad(`manifest of ${name}`, `config of ${config.size} bytes is more than the limit of 4 MiB`);
    if (!Array.isArray(m.layers)) throw bad(`manifest of ${name}`, 'no layers array');
    const layers = m.layers.map((d, i) => descriptor(d, `manifest of ${name}, layers[${i}]`));
    for (const [i, l] of layers.entries()) {
      if (l.mediaType === MediaType.dockerForeignLayer)
        throw fault('Unimplemented', `${name}: layer ${i} (${l.digest}) is a foreign layer (Windows base image), which this engine does not fetch`);
      if (!LAYER_TYPES.has(l.mediaType)) throw bad(`manifest of ${name}`, `layer ${i} (${l.digest}) has the unknown media type ${l.mediaType}`);
    }
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw bad(`manifest of ${name}`, `unsupported media type ${mediaType}`);
}

/**
 * Checks an image config blob's shape (after its digest was verified) and that it has one
 * diff id per layer of the manifest.
 */
export function parseConfig(bytes: Buffer, layerCount: number, name: string): ImageConfigFile {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bad(`image config of ${name}`, `not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad(`image config of ${name}`, 'not a JSON object');
  const c = doc as Record<string, unknown>;
  const rootfs = c.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw bad(`image config of ${name}`, 'no rootfs of type layers with diff_ids');
  }
  if (!rootfs.diff_ids.every((d) => typeof d === 'string' && isDigest(d))) throw bad(`image config of ${name}`, 'a diff id is not sha256:<64 hex digits>');
  if (rootfs.diff_ids.length !== layerCount) throw bad(`image ${name}`, `the config lists ${rootfs.diff_ids.length} diff ids for ${layerCount} layers`);
  if (typeof c.architecture !== 'string' || typeof c.os !== 'string') throw bad(`image config of ${name}`, 'architecture and os must be strings');
  if (c.config !== undefined && c.config !== null && (typeof c.config !== 'object' || Array.isArray(c.config)))
    throw bad(`image config of ${name}`, 'config is not an object');
  return c as unknown as ImageConfigFile;
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  x64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  ia32: '386',
};

export function normalizePlatform(p: Platform): Platform {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  const out: Platform = { os: p.os.toLowerCase(), architecture };
  let variant = p.variant?.toLowerCase();
  // arm64 without a variant is v8 (containerd's platforms.Normalize).
  if (architecture === 'arm64' && (variant === undefined || variant === '' || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant !== undefined && /^[5-8]$/.test(variant)) variant = `v${variant}`;
  if (variant) out.variant = variant;
  return out;
}

/** The host's platform in the OCI vocabulary (x86_64 → amd64, aarch64 → arm64/v8). */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: os.platform(), architecture: process.arch });
}

/** `os/arch[/variant]` as `--platform` takes it. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  const ok = /^[a-z0-9_.-]+$/i;
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => ok.test(p)))
    throw invalidArgs(`invalid platform ${JSON.stringify(s.slice(0, 100))}: expected os/arch[/variant]`);
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] });
}

export const formatPlatform = (p: Platform): string => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** Same os and architecture, and the same variant when both name one (the rule of the index pick). */
export function platformMatches(have: Platform, want: Platform): boolean {
  const h = normalizePlatform(have);
  const w = normalizePlatform(want);
  return h.os === w.os && h.architecture === w.architecture && (w.variant === undefined || h.variant === undefined || h.variant === w.variant);
}

/**
 * The index entry for `want`: same os and architecture, and the same variant when `want`
 * names one (an entry with the exact variant first, then one without a variant). An image
 * without the platform fails naming the platforms it has.
 */
export function pickPlatform(manifests: Descriptor[], want: Platform, name: string): Descriptor {
  const w = normalizePlatform(want);
  const images = manifests.filter((d) => d.mediaType === MediaType.ociManifest || d.mediaType === MediaType.dockerManifest);
  const candidates = images.filter((d) => d.platform !== undefined && platformMatches(d.platform, w));
  const exact = candidates.find((d) => normalizePlatform(d.platform as Platform).variant === w.variant);
  const pick = exact ?? candidates[0];
  if (pick) return pick;
  const have = images.flatMap((d) => (d.platform ? [formatPlatform(normalizePlatform(d.platform))] : [])).filter((p) => p !== 'unknown/unknown');
  throw imageNotFound(
    `no matching manifest for ${formatPlatform(w)} in the manifest list entries of ${name}; it has: ${have.length > 0 ? [...new Set(have)].join(', ') : 'none'}`,
  );
}
