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
/**
 * Frames are gathered up to this size before they go to gzip: every write to a zlib stream is
 * a trip to the thread pool, and a layer of small files would make two per file.
 */
const FLUSH = 64 * 1024;

export class SkeletonWriter {
  /** The raw frame being gathered. */
  private raws: Buffer[] = [];
  private rawBytes = 0;
  /** Finished frames not yet written. */
  private frames: Buffer[] = [];
  private frameBytes = 0;
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

  /** Raw tar bytes (kept by reference until written); resolves when the writer can take more. */
  async raw(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.raws.push(bytes);
    this.rawBytes += bytes.length;
    if (this.rawBytes + this.frameBytes >= FLUSH) await this.flush();
  }

  async file(relPath: string, size: number): Promise<void> {
    this.closeRaw();
    const p = Buffer.from(relPath);
    const head = Buffer.alloc(11);
    head[0] = FILE;
    head.writeBigUInt64BE(BigInt(size), 1);
    head.writeUInt16BE(p.length, 9);
    this.frames.push(head, p);
    this.frameBytes += head.length + p.length;
    if (this.frameBytes >= FLUSH) await this.flush();
  }

  private closeRaw(): void {
    if (this.rawBytes === 0) return;
    const head = Buffer.alloc(5);
    head[0] = RAW;
    head.writeUInt32BE(this.rawBytes, 1);
    this.frames.push(head, ...this.raws);
    this.frameBytes += head.length + this.rawBytes;
    this.raws = [];
    this.rawBytes = 0;
  }

  private async flush(): Promise<void> {
    this.closeRaw();
    if (this.frameBytes === 0) return;
    const data = Buffer.concat(this.frames, this.frameBytes);
    this.frames = [];
    this.frameBytes = 0;
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
/** Files up to this size are read in one synchronous read from the page cache. */
const SMALL_FILE = 64 * 1024;
const OUT_CHUNK = 64 * 1024;

/**
 * The original layer tar rebuilt from `skeleton` and the unpacked `dir`. The sha256 of what
 * was sent is checked at the end: a layer directory changed since the unpack makes the
 * stream fail instead of giving a tar with another diff_id.
 */
export function assembleTar(dir: string, skeleton: string, diffId: string, what: string): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    // Headers and small files are gathered into larger chunks for whoever compresses or sends them.
    let out: Buffer[] = [];
    let outBytes = 0;
    const take = (b: Buffer): Buffer | undefined => {
      hash.update(b);
      out.push(b);
      outBytes += b.length;
      if (outBytes < OUT_CHUNK) return undefined;
      const chunk = Buffer.concat(out, outBytes);
      out = [];
      outBytes = 0;
      return chunk;
    };
    for await (const f of frames(skeleton)) {
      let ready: Buffer | undefined;
      if (f.kind === 'raw') {
        if ((ready = take(f.bytes))) yield ready;
        continue;
      }
      // The layer directory is ours and holds no symlinked parents (the unpacker refused
      // them); the last component is still opened without following a symlink.
      const file = path.join(dir, f.path);
      const changed = (): Error => new Error(`${what}: ${f.path} changed since the layer was unpacked`);
      if (f.size <= SMALL_FILE) {
        // Most files of a layer are small: four thread-pool trips each would cost more than the read.
        const buf = Buffer.allocUnsafe(f.size);
        const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        try {
          const st = fs.fstatSync(fd);
          if (!st.isFile() || st.size !== f.size || fs.readSync(fd, buf, 0, f.size, 0) !== f.size) throw changed();
        } finally {
          fs.closeSync(fd);
        }
        if ((ready = take(buf))) yield ready;
        continue;
      }
      const handle = await fsp.open(file, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
      try {
        const st = await handle.stat();
        if (!st.isFile() || st.size !== f.size) throw changed();
        let left = f.size;
        while (left > 0) {
          const n = Math.min(left, OUT_CHUNK * 4);
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(n), 0, n, null);
          if (bytesRead === 0) throw changed();
          left -= bytesRead;
          if ((ready = take(buffer.subarray(0, bytesRead)))) yield ready;
        }
      } finally {
        await handle.close();
      }
    }
    if (outBytes > 0) yield Buffer.concat(out, outBytes);
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) throw new Error(`${what}: the rebuilt layer tar has digest ${got}, not ${diffId}`);
  }
  return Readable.from(gen(), { objectMode: false });
}
