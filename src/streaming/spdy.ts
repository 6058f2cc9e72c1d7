// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 as SPDY/3.1 amends it), the server side of what
// moby/spdystream speaks for kubelet's and client-go's remotecommand and port-forward.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { writeAndDrain } from './socket-write.js';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';

const VERSION = 3;
const FrameType = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const FLAG_FIN = 0x01;
export const RstStatus = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6, frameTooLarge: 11 } as const;

/** Every frame and header block a peer sends is bounded; a peer past a bound loses its connection. */
export const SPDY_LIMITS = {
  /** A DATA frame's payload (client-go writes 32 KiB at most). */
  maxDataFrame: 1 << 20,
  /** A control frame's payload, compressed header block included. */
  maxControlFrame: 16 << 10,
  /** A header block once inflated. */
  maxHeaderBlock: 16 << 10,
  maxHeaders: 64,
  /** Streams open at once on one connection (exec needs 5; port-forward 2 per forwarded connection). */
  maxStreams: 256,
  /** What the server writes in one DATA frame. */
  writeChunk: 32 << 10,
  /** What a stream buffers for its reader before the connection stops reading. */
  inboxBytes: 64 << 10,
} as const;

export class SpdyProtocolError extends Error {}

/** One direction's header compression: a single zlib stream over the connection's life, as SPDY/3 wants. */
class HeaderZlib {
  private readonly z: zlib.Inflate | zlib.Deflate;
  private chunks: Buffer[] = [];
  private size = 0;
  private failure?: Error;

  constructor(kind: 'inflate' | 'deflate') {
    this.z = kind === 'inflate' ? zlib.createInflate({ dictionary: SPDY3_DICTIONARY }) : zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
    this.z.on('data', (chunk: Buffer) => {
      this.size += chunk.length;
      if (this.size <= SPDY_LIMITS.maxHeaderBlock * 2) this.chunks.push(chunk);
    });
    this.z.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Runs one block through the stream and returns what came out; the caller serialises calls. */
  run(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(this.chunks);
        const size = this.size;
        this.chunks = [];
        this.size = 0;
        if (this.failure) reject(new SpdyProtocolError(`bad header block: ${this.failure.message}`));
        else if (size > SPDY_LIMITS.maxHeaderBlock * 2) reject(new SpdyProtocolError('header block too large'));
        else resolve(out);
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}

function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Header names lower-cased; a value holding several (NUL-separated) keeps them joined by NUL. */
export function decodeHeaderBlock(block: Buffer): Map<string, string> {
  if (block.length > SPDY_LIMITS.maxHeaderBlock) throw new SpdyProtocolError('header block too large');
  const headers = new Map<string, string>();
  let at = 0;
  const read = (): Buffer => {
    if (at + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw new SpdyProtocolError('truncated header block');
    const out = block.subarray(at, at + len);
    at += len;
    return out;
  };
  if (block.length < 4) throw new SpdyProtocolError('truncated header block');
  const count = block.readUInt32BE(0);
  at = 4;
  if (count > SPDY_LIMITS.maxHeaders) throw new SpdyProtocolError(`more than ${SPDY_LIMITS.maxHeaders} headers`);
  for (let i = 0; i < count; i++) {
    const name = read().toString('latin1').toLowerCase();
    headers.set(name, read().toString('utf8'));
  }
  return headers;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([head, payload]);
}

function dataFrame(streamId: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([head, payload]);
}

/** One stream the client opened: its headers, its data as a Readable, and what we send as a Writable. */
export class SpdyStream extends Duplex {
  private wake?: () => void;
  private remoteDone = false;
  private localDone = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: Map<string, string>,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: SPDY_LIMITS.inboxBytes });
    // A write failing because the client went away ends the session through the connection's
    // close; a backend still writing must not take the daemon down with an unhandled 'error'.
    this.on('error', () => undefined);
  }

  override _read(): void {
    this.release();
  }

  /** Data from the peer; resolves when the reader wants more. */
  deliver(data: Buffer, fin: boolean): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    const more = data.length === 0 || this.push(data);
    if (fin) this.remoteFinished();
    if (more) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  remoteFinished(): void {
    this.remoteDone = true;
    if (!this.readableEnded) this.push(null);
    this.maybeForget();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.conn.sendData(this.id, chunk, false).then(() => callback(), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.conn.sendData(this.id, Buffer.alloc(0), true).then(() => {
      this.localDone = true;
      this.maybeForget();
      callback();
    }, callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.release();
    if (!(this.remoteDone && this.localDone)) this.conn.reset(this.id, RstStatus.cancel);
    this.conn.forget(this.id);
    callback(err);
  }

  private maybeForget(): void {
    if (this.remoteDone && this.localDone) this.conn.forget(this.id);
  }

  private release(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * A server-side SPDY/3.1 connection over an upgraded socket. The peer (spdystream) does no
 * SPDY flow control, so neither do we: backpressure is TCP's — the read loop waits for a
 * stream's reader, and every write waits for the socket to drain.
 */
export class SpdyConnection extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflater = new HeaderZlib('inflate');
  private readonly deflater = new HeaderZlib('deflate');
  private writes: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;
  private tornDown = false;
  /** The peer said GOAWAY: it opens no more streams, but the open ones run to their end. */
  private peerGoneAway = false;

  constructor(
    private readonly socket: Socket,
    private readonly onStream: (stream: SpdyStream) => void,
  ) {
    super();
    socket.on('close', () => this.teardown());
    socket.on('error', () => this.teardown());
  }

  /** Reads frames until the peer goes away; resolves when the socket is closed. */
  async serve(): Promise<void> {
    try {
      await this.readLoop();
    } catch (err) {
      if (err instanceof SpdyProtocolError) await this.goAway(1).catch(() => undefined);
    } finally {
      // end() lets what is queued (a GOAWAY) reach the peer; a peer that never closes is cut off.
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
      this.teardown();
    }
  }

  private async readLoop(): Promise<void> {
    const chunks: Buffer[] = [];
    let buffered = 0;
    const take = (n: number): Buffer => {
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      chunks.length = 0;
      const out = all.subarray(0, n);
      if (all.length > n) chunks.push(all.subarray(n));
      buffered -= n;
      return out;
    };
    let need = 8;
    let header: Buffer | undefined;
    // Leaving the loop must not destroy the socket: a GOAWAY may still have to go out.
    for await (const chunk of this.socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      buffered += chunk.length;
      while (buffered >= need) {
        if (header === undefined) {
          header = take(8);
          const control = ((header[0] as number) & 0x80) !== 0;
          const length = header.readUInt32BE(4) & 0xffffff;
          if (length > (control ? SPDY_LIMITS.maxControlFrame : SPDY_LIMITS.maxDataFrame)) throw new SpdyProtocolError('frame too large');
          need = length;
          if (need > 0) continue;
        }
        const payload = need > 0 ? take(need) : Buffer.alloc(0);
        const frameHeader = header;
        header = undefined;
        need = 8;
        await this.onFrame(frameHeader, payload);
      }
    }
  }

  private async onFrame(header: Buffer, payload: Buffer): Promise<void> {
    const flags = header[4] as number;
    if (((header[0] as number) & 0x80) === 0) {
      const id = header.readUInt32BE(0) & 0x7fffffff;
      const stream = this.streams.get(id);
      if (stream === undefined) {
        await this.reset(id, RstStatus.invalidStream);
        return;
      }
      await stream.deliver(payload, (flags & FLAG_FIN) !== 0);
      return;
    }
    const version = header.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new SpdyProtocolError(`SPDY version ${version}`);
    const type = header.readUInt16BE(2);
    switch (type) {
      case FrameType.synStream: {
        if (payload.length < 10) throw new SpdyProtocolError('short SYN_STREAM');
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflater.run(payload.subarray(10)));
        // Client streams are odd and rising (SPDY/3 section 2.3.2).
        if (id % 2 === 0 || id <= this.lastStreamId) throw new SpdyProtocolError(`bad stream id ${id}`);
        this.lastStreamId = id;
        if (this.streams.size >= SPDY_LIMITS.maxStreams || this.peerGoneAway) {
          await this.reset(id, RstStatus.refusedStream);
          return;
        }
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        await this.send(async () => controlFrame(FrameType.synReply, 0, Buffer.concat([u32(id), await this.deflater.run(encodeHeaderBlock({}))])));
        if ((flags & FLAG_FIN) !== 0) stream.remoteFinished();
        this.onStream(stream);
        return;
      }
      case FrameType.headers:
      case FrameType.synReply:
        // Only to keep the inflater in step: we open no streams, and want no trailers.
        if (payload.length < 4) throw new SpdyProtocolError('short HEADERS');
        decodeHeaderBlock(await this.inflater.run(payload.subarray(4)));
        return;
      case FrameType.rstStream: {
        if (payload.length < 8) throw new SpdyProtocolError('short RST_STREAM');
        const stream = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
        if (stream) {
          this.streams.delete(stream.id);
          stream.destroy();
        }
        return;
      }
      case FrameType.ping:
        if (payload.length !== 4) throw new SpdyProtocolError('bad PING');
        await this.send(() => controlFrame(FrameType.ping, 0, payload));
        return;
      case FrameType.goAway:
        this.peerGoneAway = true;
        return;
      default:
        // SETTINGS, WINDOW_UPDATE (the peer keeps no windows) and unknown types are ignored, as the draft allows.
        return;
    }
  }

  /** Queues a frame behind every earlier one and waits until the socket has taken it. */
  private send(build: () => Buffer | Promise<Buffer>): Promise<void> {
    const sent = this.writes.then(async () => {
      if (this.closed || this.socket.destroyed) throw new Error('the SPDY connection is closed');
      await writeAndDrain(this.socket, await build());
    });
    this.writes = sent.catch(() => undefined);
    return sent;
  }

  async sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    for (let at = 0; at < data.length; at += SPDY_LIMITS.writeChunk) {
      const part = data.subarray(at, at + SPDY_LIMITS.writeChunk);
      const last = at + SPDY_LIMITS.writeChunk >= data.length;
      await this.send(() => dataFrame(id, fin && last ? FLAG_FIN : 0, part));
    }
    if (data.length === 0) await this.send(() => dataFrame(id, fin ? FLAG_FIN : 0, data));
  }

  reset(id: number, status: number): Promise<void> {
    this.streams.delete(id);
    return this.send(() => controlFrame(FrameType.rstStream, 0, Buffer.concat([u32(id), u32(status)]))).catch(() => undefined);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  goAway(status = 0): Promise<void> {
    return this.send(() => controlFrame(FrameType.goAway, 0, Buffer.concat([u32(this.lastStreamId), u32(status)])));
  }

  /** Ends the connection after what is queued: GOAWAY, then FIN. */
  async end(): Promise<void> {
    await this.goAway().catch(() => undefined);
    this.socket.end();
  }

  private teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.closed = true;
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
    this.inflater.close();
    this.deflater.close();
    this.emit('close');
  }
}
