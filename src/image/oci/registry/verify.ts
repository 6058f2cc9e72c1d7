import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { generalError } from '../../../api/errors.js';
import type { Descriptor } from '../types.js';

/** `sha256:<hex>` of bytes. */
export const sha256Digest = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A blob whose bytes are not what its descriptor says. */
export function mismatch(what: string, d: Descriptor, why: string): Error {
  return generalError(`${what} ${d.digest} failed verification: ${why}`);
}

/**
 * Passes a blob's bytes through while hashing and counting them: errors as soon as more
 * than `size` bytes come, and at the end unless both size and sha256 match, so a consumer
 * never sees the end of a stream that was not the blob.
 */
export class VerifyStream extends Transform {
  private readonly hash = createHash('sha256');
  private got = 0;

  constructor(
    private readonly d: Descriptor,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.got += chunk.length;
    if (this.got > this.d.size) return cb(mismatch(this.what, this.d, `more than the ${this.d.size} bytes of its descriptor`));
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.got !== this.d.size) return cb(mismatch(this.what, this.d, `got ${this.got} bytes of ${this.d.size}`));
    const digest = `sha256:${this.hash.digest('hex')}`;
    if (digest !== this.d.digest) return cb(mismatch(this.what, this.d, `its content has digest ${digest}`));
    cb();
  }
}

/** Verifies a blob held in memory. */
export function verifyBytes(data: Buffer, d: Descriptor, what: string): void {
  if (data.length !== d.size) throw mismatch(what, d, `got ${data.length} bytes of ${d.size}`);
  const digest = sha256Digest(data);
  if (digest !== d.digest) throw mismatch(what, d, `its content has digest ${digest}`);
}
