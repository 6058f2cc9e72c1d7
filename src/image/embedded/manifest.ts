/**
 * Reading and validating an embedded image manifest for `isula load -t embedded`
 * (src/daemon/modules/image/embedded/load.c and lim.c). Nothing is copied or mounted here.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type ResolvedLayer, resolveLayer, resolveRootfs } from './layers.js';
import { describePath, isNotFound } from './paths.js';
import { type EmbeddedManifest, invalidManifest, validateManifest } from './schema.js';
import { readSignature, sha256Digest, signaturePathFor } from './signature.js';

export type { EmbeddedConfig, EmbeddedLayer, EmbeddedManifest } from './schema.js';
export type { ResolvedLayer } from './layers.js';
export { parseImageReference } from './reference.js';
export { signaturePathFor } from './signature.js';

/** A manifest that passed every rule, with layer paths resolved to absolute real paths. */
export interface LoadedManifest {
  /** Real path of the manifest. */
  manifestPath: string;
  /** `sha256:<hex>` of the manifest bytes, equal to the .sgn content. */
  digest: string;
  manifest: EmbeddedManifest;
  /** The raw manifest text, which `isula inspect` prints. */
  text: string;
  /** Real path of layer 0: a block device, or '/' for the bind.dir kind. */
  rootfsDevice: string;
  /** Layers 1..n. */
  layers: ResolvedLayer[];
  /** Sum of the on-disk sizes of layers 1..n; layer 0 is not counted. */
  size: number;
}

/** Far beyond any real manifest (125 layers is a few tens of KiB); keeps a stray big file out of memory. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Validates the manifest at `inputPath` (relative paths are taken from the cwd). Throws EngineError(1). */
export async function readEmbeddedManifest(inputPath: string): Promise<LoadedManifest> {
  const given = path.resolve(inputPath);
  const manifestPath = await realManifestPath(given);
  const st = await fs.stat(manifestPath);
  if (!st.isFile()) throw invalidManifest(`${describePath(given)} is not a regular file`);
  if (st.size > MAX_MANIFEST_BYTES) throw invalidManifest(`${describePath(given)} is larger than ${MAX_MANIFEST_BYTES} bytes`);

  // load.c derives the .sgn name from the manifest's real path, so a symlinked manifest uses the
  // signature beside its target.
  const sgnPath = signaturePathFor(manifestPath);
  const signed = await readSignature(sgnPath);
  const bytes = await fs.readFile(manifestPath);
  const digest = sha256Digest(bytes);
  if (digest !== signed) {
    throw invalidManifest(`sha256 of ${describePath(manifestPath)} does not match signature file ${describePath(sgnPath)}`);
  }

  const text = decodeJson(bytes, manifestPath);
  const manifest = validateManifest(parseJson(text, manifestPath));
  const rootfsDevice = await resolveRootfs(manifest.layers[0]);
  const dir = path.dirname(manifestPath);
  const layers: ResolvedLayer[] = [];
  // One at a time, so the error reported is always the first faulty layer.
  for (let i = 1; i < manifest.layers.length; i++) layers.push(await resolveLayer(manifest.layers[i], i, dir));
  const size = layers.reduce((sum, l) => sum + l.size, 0);
  return { manifestPath, digest, manifest, text, rootfsDevice, layers, size };
}

async function realManifestPath(given: string): Promise<string> {
  try {
    return await fs.realpath(given);
  } catch (err) {
    if (isNotFound(err)) throw invalidManifest(`${describePath(given)} does not exist`);
    throw invalidManifest(`${describePath(given)} cannot be resolved: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function decodeJson(bytes: Uint8Array, file: string): string {
  if (bytes.length === 0) throw invalidManifest(`${describePath(file)} is empty`);
  try {
    // Strict UTF-8 and a BOM kept (so JSON.parse refuses it), as yajl would.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw invalidManifest(`${describePath(file)} is not valid UTF-8 JSON`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidManifest(`${describePath(file)} is not valid JSON`);
  }
}
