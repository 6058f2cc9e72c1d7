import { Duplex } from 'node:stream';
import type net from 'node:net';
import { GRPC_LIMITS } from './limits.js';
import { DEFAULT_MAX_FRAME_SIZE, encodeFrame, encodeSettings, Flag, FrameType, PREFACE, Setting } from '../../common/h2/frames.js';
import { encodeHeaders, HpackDecoder, type HeaderList } from '../../common/h2/hpack.js';

/*
 * grpc-go clients dialled with a bare socket path (kubelet up to 1.26, crictl 1.26) send that
 * path as `:authority`. nghttp2, under node:http2, checks the authority's characters
 * (RFC 3986) and resets every such stream with PROTOCOL_ERROR before the server sees it, and
 * node:http2 has no option to turn the check off. So on unix sockets the daemon reads the
 * client's frames first: header blocks are decoded (following the client's HPACK table),
 * a bad `:authority` becomes `localhost` (what grpc-go sends for unix:// targets), and the
 * block goes on re-encoded as literals without indexing, so nghttp2's table stays empty and
 * cannot fall out of step. Every other frame passes through untouched, DATA uncopied.
 *
 * Going through JavaScript costs a call about 0.4 ms of the daemon's CPU, so a connection
 * whose first header block has a good authority goes to node:http2 directly. The isula client
 * sends everything at once: its first read holds that block. grpc clients (grpc-go, grpc-js)
 * wait for the server's SETTINGS before their first request, so the daemon sends one itself
 * (RFC 9113 3.4: the server's preface; the same limits node:http2 sends), waits for the first
 * header block, and takes the client's ACK of that SETTINGS out of the bytes it hands on:
 * nghttp2 sends its own SETTINGS, and an ACK it never asked for is a PROTOCOL_ERROR. A
 * connection whose first authority is bad, or whose ACK comes after that block, gets the
 * rewriting, which drops that ACK then.
 */

/** What nghttp2 accepts in an authority (nghttp2_check_authority). */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:%@[\]]*$/;
const LOCALHOST = 'localhost';

/**
 * A header block, or the list it decodes to (counted as HPACK counts), larger than this is
 * refused by closing the connection: node:http2 refuses a header list past 64 KiB anyway.
 */
const MAX_HEADER_BLOCK = 64 * 1024;
/** The server never raises SETTINGS_MAX_FRAME_SIZE: a longer frame is nghttp2's to refuse. */
const MAX_FRAME = DEFAULT_MAX_FRAME_SIZE;

/** One header block: the authority fixed, re-encoded. Exported for the unit tests. */
export function fixHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name, value]) => (name === ':authority' && !VALID_AUTHORITY.test(value) ? [name, LOCALHOST] : [name, value]));
}

/**
 * Rewrites the header blocks of a client's HTTP/2 byte stream, as above. Throws on a stream
 * it cannot follow (bad HPACK, a header block past its limit, CONTINUATION out of place); the
 * connection is then closed, as nghttp2 would for the same faults.
 */
export class HeaderRewriter {
  private state: 'preface' | 'header' | 'pass' | 'block' | 'raw' = 'preface';
  private partial: Buffer = Buffer.alloc(0);
  /** Bytes of the current frame still to pass through or to collect. */
  private left = 0;
  private frame = { type: 0, flags: 0, streamId: 0 };
  private collected: Buffer[] = [];
  private collectedBytes = 0;
  /** The stream and END_STREAM of a header block awaiting CONTINUATION frames. */
  private open: { streamId: number; endStream: boolean } | undefined;
  private block: Buffer[] = [];
  private blockBytes = 0;
  private readonly decoder = new HpackDecoder();

  /** `dropSettingsAck`: the daemon sent a SETTINGS of its own; the client's first ACK is for it (acceptUnixConnection). */
  constructor(private dropSettingsAck = false) {}

  /** The bytes to hand on for `chunk`. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'raw':
          out.push(at === 0 ? chunk : chunk.subarray(at));
          return out;
        case 'preface':
        case 'header': {
          const need = (this.state === 'preface' ? PREFACE.length : 9) - this.partial.length;
          const take = chunk.subarray(at, at + need);
          at += take.length;
          this.partial = this.partial.length === 0 ? take : Buffer.concat([this.partial, take]);
          if (take.length < need) break;
          const bytes = this.partial;
          this.partial = Buffer.alloc(0);
          if (this.state === 'preface') {
            out.push(bytes);
            // Not HTTP/2 with prior knowledge: nghttp2 answers it.
            this.state = bytes.equals(PREFACE) ? 'header' : 'raw';
            break;
          }
          this.startFrame(bytes, out);
          break;
        }
        case 'pass': {
          const take = Math.min(this.left, chunk.length - at);
          out.push(chunk.subarray(at, at + take));
          at += take;
          this.left -= take;
          if (this.left === 0) this.state = 'header';
          break;
        }
        case 'block': {
          const take = Math.min(this.left, chunk.length - at);
          // A copy: the read buffer's slice would hold the whole chunk.
          this.collected.push(Buffer.from(chunk.subarray(at, at + take)));
          this.collectedBytes += take;
          at += take;
          this.left -= take;
          if (this.left === 0) {
            this.state = 'header';
            this.endFrame(out);
          }
          break;
        }
      }
    }
    return out;
  }

  private startFrame(header: Buffer, out: Buffer[]): void {
    const length = header.readUIntBE(0, 3);
    const type = header[3]!;
    const flags = header[4]!;
    const streamId = header.readUInt32BE(5) & 0x7fffffff;
    if (this.open && type !== FrameType.CONTINUATION) throw new Error('HTTP/2: a header block is interrupted by another frame');
    if (this.dropSettingsAck && type === FrameType.SETTINGS && flags & Flag.ACK && length === 0) {
      this.dropSettingsAck = false;
      return;
    }
    const blockFrame = type === FrameType.HEADERS || type === FrameType.CONTINUATION;
    if (!blockFrame || length > MAX_FRAME) {
      // An oversized frame goes to nghttp2 unparsed; it closes the connection for it.
      out.push(header);
      this.state = length > MAX_FRAME && blockFrame ? 'raw' : 'pass';
      this.left = length;
      if (length === 0) this.state = this.state === 'raw' ? 'raw' : 'header';
      return;
    }
    this.frame = { type, flags, streamId };
    this.collected = [];
    this.collectedBytes = 0;
    this.left = length;
    this.state = 'block';
    if (length === 0) {
      this.state = 'header';
      this.endFrame(out);
    }
  }

  private endFrame(out: Buffer[]): void {
    const { type, flags, streamId } = this.frame;
    let fragment = Buffer.concat(this.collected, this.collectedBytes);
    this.collected = [];
    if (type === FrameType.HEADERS) {
      let start = 0;
      let end = fragment.length;
      if (flags & Flag.PADDED) {
        start = 1;
        end -= fragment[0] ?? 0;
      }
      if (flags & Flag.PRIORITY) start += 5;
      if (end < start) throw new Error('HTTP/2: HEADERS padding exceeds its payload');
      fragment = fragment.subarray(start, end);
      this.open = { streamId, endStream: (flags & Flag.END_STREAM) !== 0 };
      this.block = [];
      this.blockBytes = 0;
    } else if (!this.open || this.open.streamId !== streamId) {
      throw new Error('HTTP/2: CONTINUATION without its HEADERS');
    }
    this.block.push(fragment);
    this.blockBytes += fragment.length;
    if (this.blockBytes > MAX_HEADER_BLOCK) throw new Error(`HTTP/2: a header block larger than ${MAX_HEADER_BLOCK} bytes`);
    if (!(flags & Flag.END_HEADERS)) return;
    const open = this.open!;
    this.open = undefined;
    const headers = this.decoder.decode(Buffer.concat(this.block, this.blockBytes));
    // Indexed fields can repeat a table entry: a small block may decode to a huge list.
    let listSize = 0;
    for (const [name, value] of headers) listSize += name.length + value.length + 32;
    if (listSize > MAX_HEADER_BLOCK) throw new Error(`HTTP/2: a header list larger than ${MAX_HEADER_BLOCK} bytes`);
    const block = encodeHeaders(fixHeaders(headers));
    this.block = [];
    // HEADERS, then CONTINUATION frames for the rest; priority and padding are dropped.
    for (let at = 0, first = true; first || at < block.length; first = false) {
      const piece = block.subarray(at, at + MAX_FRAME);
      at += piece.length;
      const last = at >= block.length;
      const f = (first && open.endStream ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0);
      out.push(encodeFrame(first ? FrameType.HEADERS : FrameType.CONTINUATION, f, open.streamId, piece));
    }
  }
}

/**
 * A connection whose incoming bytes go through a HeaderRewriter, for node:http2 to serve
 * (which wraps a stream without a native handle itself). Backpressure goes both ways.
 */
export class AuthorityFixingSocket extends Duplex {
  private readonly rewriter: HeaderRewriter;

  constructor(
    private readonly socket: net.Socket,
    first?: Buffer,
    settingsSent = false,
  ) {
    super({ allowHalfOpen: false });
    this.rewriter = new HeaderRewriter(settingsSent);
    if (first) this.fromClient(first);
    socket.on('data', (chunk: Buffer) => this.fromClient(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
    socket.on('drain', () => this.emit('socketDrain'));
    socket.resume();
  }

  private fromClient(chunk: Buffer): void {
    let pieces: Buffer[];
    try {
      pieces = this.rewriter.push(chunk);
    } catch (e) {
      this.destroy(e as Error);
      return;
    }
    let more = true;
    for (const piece of pieces) more = this.push(piece) && more;
    if (!more) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.write(chunk)) callback();
    else this.once('socketDrain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  // node:http2 sets these on the connections it serves.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(ms: number, listener?: () => void): this {
    this.socket.setTimeout(ms, listener);
    return this;
  }
}

/**
 * What the daemon answers a client's preface with, before node:http2 has the connection: the
 * settings node:http2 will send (limits.ts), so that a client knows the stream limit from the
 * first SETTINGS on, as it does from a server that is node:http2 from the start.
 */
const EARLY_SETTINGS = encodeSettings([[Setting.MAX_CONCURRENT_STREAMS, GRPC_LIMITS.maxConcurrentStreams]]);
/** Bytes a client may send before its first header block is whole; past them, the rewriting. */
const MAX_OPENING = PREFACE.length + 2 * MAX_HEADER_BLOCK;

/**
 * What to do with a connection's opening bytes: 'more' while they are a start of the HTTP/2
 * preface and frames with no whole first header block yet; the bytes to hand node:http2 when
 * that block's authority is good (and, with `ackDue`, a SETTINGS ACK came before it: it is
 * left out); 'rewrite' for anything else or unsure, or a frame before that block that wants
 * an answer (PING).
 */
export function openingVerdict(bytes: Buffer, ackDue: boolean): 'more' | 'rewrite' | Buffer {
  if (bytes.length < PREFACE.length) return PREFACE.subarray(0, bytes.length).equals(bytes) ? 'more' : 'rewrite';
  if (!bytes.subarray(0, PREFACE.length).equals(PREFACE)) return 'rewrite';
  let ack = -1;
  for (let at = PREFACE.length; at + 9 <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    const type = bytes[at + 3]!;
    const flags = bytes[at + 4]!;
    if (length > MAX_FRAME) return 'rewrite';
    if (at + 9 + length > bytes.length) break;
    if (type === FrameType.SETTINGS && flags & Flag.ACK && ack < 0) ack = at;
    // A PING (a keepalive before any call) and the like need nghttp2's answer now.
    if (type !== FrameType.SETTINGS && type !== FrameType.WINDOW_UPDATE && type !== FrameType.HEADERS) return 'rewrite';
    if (type === FrameType.HEADERS) {
      if (!(flags & Flag.END_HEADERS) || (ackDue && ack < 0)) return 'rewrite';
      let block = bytes.subarray(at + 9, at + 9 + length);
      const pad = flags & Flag.PADDED ? (block[0] ?? 0) : -1;
      if (pad >= 0) block = block.subarray(1, block.length - pad);
      if (flags & Flag.PRIORITY) block = block.subarray(5);
      try {
        if (!new HpackDecoder().decode(block).every(([name, value]) => name !== ':authority' || VALID_AUTHORITY.test(value))) return 'rewrite';
      } catch {
        return 'rewrite';
      }
      return ackDue ? Buffer.concat([bytes.subarray(0, ack), bytes.subarray(ack + 9)]) : bytes;
    }
    at += 9 + length;
  }
  return bytes.length > MAX_OPENING ? 'rewrite' : 'more';
}

/**
 * Takes a connection accepted on a unix socket to node:http2 (`serve`): directly when its
 * opening shows no need for the rewriting, through an AuthorityFixingSocket otherwise.
 * Returns what hands it on at once, through the rewriting, when the server stops (for
 * node:http2's GOAWAY) or the connection idles before its first call; false when the
 * connection has sent nothing yet (it is then the caller's to close).
 */
export function acceptUnixConnection(socket: net.Socket, serve: (connection: Duplex) => void): () => boolean {
  let opening: Buffer = Buffer.alloc(0);
  let settingsSent = false;
  let served = false;
  const handOn = (verdict: 'rewrite' | Buffer): void => {
    served = true;
    socket.off('data', onData);
    socket.setTimeout(0);
    socket.pause();
    if (verdict === 'rewrite') serve(new AuthorityFixingSocket(socket, opening, settingsSent));
    else {
      // node:http2 reads what is already buffered before the rest from the handle.
      socket.unshift(verdict);
      serve(socket);
    }
  };
  const now = (): boolean => {
    if (!served && opening.length > 0) handOn('rewrite');
    return served;
  };
  const onData = (chunk: Buffer): void => {
    opening = opening.length === 0 ? chunk : Buffer.concat([opening, chunk]);
    // Bun's node:http2 refuses such an authority too, but does not read what was put back.
    const verdict = process.versions.bun ? 'rewrite' : openingVerdict(opening, settingsSent);
    if (verdict !== 'more') return handOn(verdict);
    if (!settingsSent) {
      settingsSent = true;
      socket.write(EARLY_SETTINGS);
    }
  };
  // Until the first call, nothing else times a silent connection out.
  socket.setTimeout(GRPC_LIMITS.idleTimeoutMs, () => now() || socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', onData);
  return now;
}
