// Minimal clients of the CRI streaming server, written from the specs for the tests: SPDY/3.1
// (draft-mbelshe-httpbis-spdy-00 as amended for 3.1) as client-go's remotecommand uses it,
// and RFC 6455 WebSocket with Kubernetes' channel byte.
import crypto from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../src/streaming/spdy-dictionary.js';

/** Sends an HTTP/1.1 upgrade and returns the socket after the response head, with the head. */
export async function upgrade(
  url: string,
  headers: Record<string, string | string[]>,
): Promise<{ socket: net.Socket; status: number; head: string; rest: Buffer }> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  const lines = [`POST ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'Content-Length: 0'];
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = buf.subarray(0, end).toString('latin1');
      const rest = buf.subarray(end + 4);
      const status = Number(head.split(' ')[1]);
      return { socket, status, head, rest };
    }
    const [chunk] = (await Promise.race([once(socket, 'data'), once(socket, 'end').then(() => [Buffer.alloc(0)])])) as [Buffer];
    if (chunk.length === 0) throw new Error(`connection closed before a response: ${buf.toString()}`);
    buf = Buffer.concat([buf, chunk]);
  }
}

/** Reads a whole body after a refused upgrade. */
export async function readAll(socket: net.Socket, rest: Buffer): Promise<string> {
  const chunks = [rest];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString();
}

class Zlib {
  private out: Buffer[] = [];
  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (c: Buffer) => this.out.push(c));
  }
  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      });
    });
  }
}

export interface ClientStream {
  id: number;
  data: Buffer[];
  fin: boolean;
  reset?: number;
  replied: boolean;
}

/** A SPDY/3.1 client session over an upgraded socket: opens streams, sends data, gathers what comes back. */
export class SpdyClient {
  readonly streams = new Map<number, ClientStream>();
  readonly pings: number[] = [];
  goAway = false;
  closed = false;
  private nextId = 1;
  private readonly deflate = new Zlib(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly inflate = new Zlib(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  private queue: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];

  constructor(
    readonly socket: net.Socket,
    rest: Buffer,
  ) {
    let buf = rest;
    const pump = async (): Promise<void> => {
      while (buf.length >= 8) {
        const len = buf.readUInt32BE(4) & 0xffffff;
        if (buf.length < 8 + len) return;
        const frame = buf.subarray(0, 8 + len);
        buf = buf.subarray(8 + len);
        await this.onFrame(frame);
      }
    };
    this.queue = pump();
    socket.on('data', (c: Buffer) => {
      this.queue = this.queue.then(() => {
        buf = Buffer.concat([buf, c]);
        return pump();
      });
      this.queue.then(() => this.notify());
    });
    socket.on('close', () => {
      this.closed = true;
      this.queue.then(() => this.notify());
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `cond` holds (checked after every frame), or fails after `ms`. */
  async until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private async onFrame(frame: Buffer): Promise<void> {
    const flags = frame[4] as number;
    const payload = frame.subarray(8);
    if (((frame[0] as number) & 0x80) === 0) {
      const s = this.streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      if (!s) return;
      if (payload.length > 0) s.data.push(Buffer.from(payload));
      if (flags & 1) s.fin = true;
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === 2) {
      const s = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
      await this.inflate.run(payload.subarray(4));
      if (s) s.replied = true;
    } else if (type === 3) {
      const s = this.streams.get(payload.readUInt32BE(0) & 0x7fffffff);
      if (s) s.reset = payload.readUInt32BE(4);
    } else if (type === 6) this.pings.push(payload.readUInt32BE(0));
    else if (type === 7) this.goAway = true;
  }

  private control(type: number, flags: number, payload: Buffer): Buffer {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE((flags << 24) | payload.length, 4);
    return Buffer.concat([h, payload]);
  }

  async open(headers: Record<string, string>, fin = false): Promise<ClientStream> {
    const id = this.nextId;
    this.nextId += 2;
    const parts: Buffer[] = [];
    const u32 = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    parts.push(u32(Object.keys(headers).length));
    for (const [k, v] of Object.entries(headers)) parts.push(u32(k.length), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v));
    const block = await this.deflate.run(Buffer.concat(parts));
    const s: ClientStream = { id, data: [], fin: false, replied: false };
    this.streams.set(id, s);
    const head = Buffer.alloc(10);
    head.writeUInt32BE(id, 0);
    this.socket.write(this.control(1, fin ? 1 : 0, Buffer.concat([head, block])));
    return s;
  }

  send(s: ClientStream, data: Buffer | string, fin = false): void {
    const payload = Buffer.from(data);
    const h = Buffer.alloc(8);
    h.writeUInt32BE(s.id, 0);
    h.writeUInt32BE(((fin ? 1 : 0) << 24) | payload.length, 4);
    this.socket.write(Buffer.concat([h, payload]));
  }

  /** A frame with a length past the server's bound (the payload is never sent). */
  sendHugeHeader(s: ClientStream, length: number): void {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(s.id, 0);
    h.writeUInt32BE(length, 4);
    this.socket.write(h);
  }

  ping(id: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(id);
    this.socket.write(this.control(6, 0, p));
  }

  text(s: ClientStream): string {
    return Buffer.concat(s.data).toString();
  }
}

/** A WebSocket client: masked frames out, whole messages in (channel byte first). */
export class WsClient {
  readonly messages: Buffer[] = [];
  closeCode?: number;
  closed = false;
  private buf: Buffer;

  constructor(
    readonly socket: net.Socket,
    rest: Buffer,
  ) {
    this.buf = rest;
    this.parse();
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static key(): string {
    return crypto.randomBytes(16).toString('base64');
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      let len = (this.buf[1] as number) & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      const opcode = (this.buf[0] as number) & 0x0f;
      const payload = this.buf.subarray(at, at + len);
      this.buf = this.buf.subarray(at + len);
      if (opcode === 8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else if (opcode === 1 || opcode === 2) this.messages.push(Buffer.from(payload));
    }
  }

  send(opcode: number, payload: Buffer): void {
    const mask = crypto.randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (mask[i & 3] as number);
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  channel(ch: number): string {
    return Buffer.concat(this.messages.filter((m) => m[0] === ch).map((m) => m.subarray(1))).toString();
  }

  async until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
