/**
 * The `.sgn` file that must sit next to an embedded manifest: it holds `sha256:<hex>` of the
 * manifest bytes (src/daemon/modules/image/embedded/load.c, get_digest).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { generalError } from '../../api/errors.js';
import { describePath, isNotFound } from './paths.js';

const SIGNATURE = /^sha256:[0-9a-f]{64}$/;
const SIGNATURE_LENGTH = 'sha256:'.length + 64;

/**
 * The signature path for a manifest: its last extension replaced by `.sgn`, or `.sgn` appended
 * when the file name has none (`img/test.manifest` → `img/test.sgn`, `img/manifest` → `img/manifest.sgn`).
 */
export function signaturePathFor(manifestPath: string): string {
  const slash = manifestPath.lastIndexOf('/');
  const dot = manifestPath.lastIndexOf('.');
  // Like load.c's backwards scan, a dot at index 0 is never taken as the extension.
  const stem = dot > slash && dot > 0 ? manifestPath.slice(0, dot) : manifestPath;
  return `${stem}.sgn`;
}

/** `sha256:<hex>` of a byte buffer. */
export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** `sha256:<hex>` of a file, streamed: layer images can be far larger than memory. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads the digest a signature file holds. The file may be reached through symlinks; its content
 * must be exactly the 71 bytes `sha256:<64 lowercase hex>` (iSulad's CI rejects a trailing newline).
 */
export async function readSignature(sgnPath: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(sgnPath);
  } catch (err) {
    if (isNotFound(err)) throw generalError(`Manifest's signature file ${describePath(sgnPath)} does not exist`);
    throw generalError(`Invalid signature file ${describePath(sgnPath)}: ${errorCode(err)}`);
  }
  const invalid = generalError(`Invalid signature file ${describePath(sgnPath)}: want sha256:<64 lowercase hex> without a newline`);
  const st = await fs.stat(real);
  if (!st.isFile() || st.size !== SIGNATURE_LENGTH) throw invalid;
  const text = (await fs.readFile(real)).toString('latin1');
  if (!SIGNATURE.test(text)) throw invalid;
  return text;
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
