import { createHash } from 'node:crypto';
import { type Readable, Transform, type TransformCallback } from 'node:stream';

export const sha256Of = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
export const isDigest = (s: unknown): s is string => typeof s === 'string' && DIGEST_RE.test(s);

/**
 * Passes `src` through, erroring when its bytes are more than `size` or, at the end, when
 * their count or sha256 differ from what was expected: a consumer never sees a clean end of
 * a stream whose content is not the blob it asked for.
 */
export function verified(src: Readable, digest: string, size: number, what: string): Readable {
  const hash = createHash('sha256');
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > size) return cb(new Error(`${what}: more than the ${size} bytes expected`));
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (seen !== size) return cb(new Error(`${what}: ${seen} bytes where ${size} were expected`));
      const got = `sha256:${hash.digest('hex')}`;
      cb(got === digest ? null : new Error(`${what}: digest ${got} does not match ${digest}`));
    },
  });
  src.on('error', (e) => check.destroy(e));
  return src.pipe(check);
}

/** sha256 and length of a stream's bytes. */
export async function digestStream(src: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of src as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
