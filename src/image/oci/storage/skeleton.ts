/**
 * A layer's tar skeleton (the idea of Docker's tar-split, our own format): every byte of the
 * uncompressed layer tar that is not a regular file's content (headers, PAX records, padding,
 * the end blocks and whatever trails them) verbatim, and for each file's content only its
 * path in the layer directory and its length. With the unpacked directory it gives back the
 * original tar byte for byte, so `save` and `push` keep the layer's diff_id and the image id.
 *
 * On disk: gzip of a sequence of frames,
 *   0x01 u32be length, bytes          — raw bytes of the tar
 *   0x02 u64be size, u16be length, path — `size` bytes read from `<layer dir>/<path>`
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import zlib from 'node:zlib';

const RAW = 1;
const FILE = 2;
/** Raw bytes are gathered up to this size before a frame is written. */
const RAW_FLUSH = 64 * 1024;

export class SkeletonWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly gzip = zlib.createGzip({ level: 1 });
  private readonly out: fs.WriteStream;
  private readonly done: Promise<void>;

  constructor(file: string) {
    const out = fs.createWriteStream(file, { mode: 0o600 });
    this.out = out;
    this.gzip.pipe(out);
    this.done = new Promise((resolve, reject) => {
      out.on('finish', resolve);
      out.on('error', (e) => {
        // A full disk: writers waiting for 'drain' on the gzip stream learn of it there.
        this.gzip.destroy(e);
        reject(e);
      });
      this.gzip.on('error', reject);
    });
    // The caller awaits `done` only at the end; an early failure must not go unhandled meanwhile.
    this.done.catch(() => undefined);
  }

  /** Raw tar bytes; resolves when the writer can take more. */
  async raw(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= RAW_FLUSH) await this.flush();
  }

  async file(relPath: string, size: number): Promise<void> {
    await this.flush();
    const p = Buffer.from(relPath);
    const head = Buffer.alloc(11);
    head[0] = FILE;
    head.writeBigUInt64BE(BigInt(size), 1);
    head.writeUInt16BE(p.length, 9);
    await write(this.gzip, Buffer.concat([head, p]));
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const head = Buffer.alloc(5);
    head[0] = RAW;
    head.writeUInt32BE(this.pendingBytes, 1);
    const data = Buffer.concat([head, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
    await write(this.gzip, data);
  }

  /** Flushes and closes the file (not fsynced: the store syncs the filesystem once per layer). */
  async end(): Promise<void> {
    await this.flush();
    this.gzip.end();
    await this.done;
  }

  destroy(): void {
    this.gzip.destroy();
    this.out.destroy();
  }
}

function write(w: Writable, data: Buffer): Promise<void> {
  if (w.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      w.off('drain', onDrain);
      reject(e);
    };
    const onDrain = (): void => {
      w.off('error', onError);
      resolve();
    };
    w.once('drain', onDrain);
    w.once('error', onError);
  });
}

type Frame = { kind: 'raw'; bytes: Buffer } | { kind: 'file'; path: string; size: number };

async function* frames(file: string): AsyncGenerator<Frame> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file).pipe(zlib.createGunzip())) {
    buf = buf.length === 0 ? (chunk as Buffer) : Buffer.concat([buf, chunk as Buffer]);
    for (;;) {
      if (buf.length < 1) break;
      if (buf[0] === RAW) {
        if (buf.length < 5) break;
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        yield { kind: 'raw', bytes: buf.subarray(5, 5 + len) };
        buf = buf.subarray(5 + len);
      } else if (buf[0] === FILE) {
        if (buf.length < 11) break;
        const plen = buf.readUInt16BE(9);
        if (buf.length < 11 + plen) break;
        yield { kind: 'file', size: Number(buf.readBigUInt64BE(1)), path: buf.toString('utf8', 11, 11 + plen) };
        buf = buf.subarray(11 + plen);
      } else {
        throw new Error(`${file}: corrupt skeleton`);
      }
    }
  }
  if (buf.length > 0) throw new Error(`${file}: truncated skeleton`);
}

const { O_RDONLY, O_NOFOLLOW, O_NOCTTY, O_NONBLOCK } = fs.constants;

/**
 * The original layer tar rebuilt from `skeleton` and the unpacked `dir`. The sha256 of what
 * was sent is checked at the end: a layer directory changed since the unpack makes the
 * stream fail instead of giving a tar with another diff_id.
 */
export function assembleTar(dir: string, skeleton: string, diffId: string, what: string): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    for await (const f of frames(skeleton)) {
      if (f.kind === 'raw') {
        hash.update(f.bytes);
        yield f.bytes;
        continue;
      }
      // The layer directory is ours and holds no symlinked parents (the unpacker refused
      // them); the last component is still opened without following a symlink.
      const handle = await fsp.open(path.join(dir, f.path), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
      try {
        const st = await handle.stat();
        if (!st.isFile() || st.size !== f.size) throw new Error(`${what}: ${f.path} changed since the layer was unpacked`);
        let left = f.size;
        while (left > 0) {
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(Math.min(left, 256 * 1024)), 0, Math.min(left, 256 * 1024), null);
          if (bytesRead === 0) throw new Error(`${what}: ${f.path} changed since the layer was unpacked`);
          const piece = buffer.subarray(0, bytesRead);
          hash.update(piece);
          left -= bytesRead;
          yield piece;
        }
      } finally {
        await handle.close();
      }
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) throw new Error(`${what}: the rebuilt layer tar has digest ${got}, not ${diffId}`);
  }
  return Readable.from(gen(), { objectMode: false });
}
