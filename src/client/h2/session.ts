import { CANCEL, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, encodeFrame, encodeRstStream, encodeSettings, encodeWindowUpdate } from '../../common/h2/frames.js';
import { ERROR_NAMES, Flag, framePayload, FrameParser, FrameType, parseSettings, PREFACE, Setting, type Frame } from '../../common/h2/frames.js';
import { encodeHeaders, HpackDecoder, type HeaderList } from '../../common/h2/hpack.js';

/**
 * The client side of one HTTP/2 connection (RFC 7540), just what a gRPC client needs:
 * requests, their responses and trailers, flow control both ways, RST_STREAM, PING, GOAWAY.
 * No priorities, no server push (disabled in our SETTINGS), no TLS.
 */

/** The byte stream a session runs on: a node:net socket, or the client's UnixSocket. */
export interface SessionSocket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  readonly writable: boolean;
  write(bytes: Buffer): unknown;
  end(done?: () => void): unknown;
  destroy(): unknown;
}

/** Credit we give the peer: topped up once half is used, so it never has to wait on us. */
export class RecvWindow {
  private available: number;
  constructor(readonly size: number) {
    this.available = size;
  }

  /** Records `n` received bytes; returns the WINDOW_UPDATE increment to send now, or 0. */
  consume(n: number): number {
    this.available -= n;
    if (this.available > this.size / 2) return 0;
    const increment = this.size - this.available;
    this.available = this.size;
    return increment;
  }
}

export type StreamError = Error & { code?: string };

export interface StreamEvents {
  /** Response headers and trailers alike, as a header-name -> value record. */
  onHeaders(headers: Record<string, string>): void;
  onData(chunk: Buffer): void;
  /** Once, when both sides have ended, the stream was reset, or the connection failed. */
  onClose(error?: StreamError): void;
}

/** A stream reset with `code`, in node:http2's words. */
function streamError(code: number): StreamError {
  return Object.assign(new Error(`Stream closed with error code NGHTTP2_${ERROR_NAMES[code] ?? code}`), { code: 'ERR_HTTP2_STREAM_ERROR' });
}

export class H2Stream {
  /** Data waiting for send window. */
  readonly queue: Buffer[] = [];
  ending = false;
  localEnded = false;
  remoteEnded = false;
  closed = false;

  constructor(
    readonly id: number,
    private readonly session: H2Session,
    readonly events: StreamEvents,
    public sendWindow: number,
    readonly recvWindow: RecvWindow,
  ) {}

  write(data: Buffer): void {
    if (this.closed || this.ending || data.length === 0) return;
    this.queue.push(data);
    this.session.flush();
  }

  /** Half-closes our side once the queued data is out. */
  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.session.flush();
  }

  /** Resets the stream (CANCEL by default); its onClose comes without an error. */
  cancel(code = CANCEL): void {
    if (this.closed) return;
    this.session.reset(this, code);
  }
}

export class H2Session {
  private readonly streams = new Map<number, H2Stream>();
  private readonly parser = new FrameParser();
  private readonly decoder = new HpackDecoder();
  private readonly recvWindow: RecvWindow;
  private nextStreamId = 1;
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** A header block split into HEADERS + CONTINUATION frames, until END_HEADERS. */
  private headerBlock: { streamId: number; endStream: boolean; parts: Buffer[] } | undefined;
  /** close() was called or the peer sent GOAWAY: no new streams, and hang up after the last. */
  private draining = false;
  destroyed = false;

  constructor(
    private readonly socket: SessionSocket,
    /** Our receive window, per stream and for the connection: large, so the daemon can stream freely. */
    private readonly windowSize = 16 * 1024 * 1024,
  ) {
    this.recvWindow = new RecvWindow(windowSize);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.parser.push(chunk)) if (!this.destroyed) this.onFrame(frame);
      } catch (e) {
        this.destroy(e as Error);
      }
    });
    socket.on('error', (e: Error) => this.destroy(e));
    socket.on('close', () => this.destroy());
    // Writes before the connection is up are buffered by the socket, and go out together.
    this.send(PREFACE);
    this.send(
      encodeSettings([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, windowSize],
      ]),
    );
    if (windowSize > DEFAULT_WINDOW) this.send(encodeWindowUpdate(0, windowSize - DEFAULT_WINDOW));
  }

  private send(bytes: Buffer): void {
    if (!this.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Whether new requests may use this connection. */
  get usable(): boolean {
    return !this.destroyed && !this.draining;
  }

  request(headers: HeaderList, events: StreamEvents): H2Stream {
    if (!this.usable) throw new Error('the HTTP/2 connection is closed');
    const stream = new H2Stream(this.nextStreamId, this, events, this.peerInitialWindow, new RecvWindow(this.windowSize));
    this.nextStreamId += 2;
    this.streams.set(stream.id, stream);
    // Our header blocks are a few short headers, far below any peer's maximum frame size.
    this.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, stream.id, encodeHeaders(headers)));
    return stream;
  }

  /** Closes once the open streams are done, like http2's session.close(). */
  close(): void {
    this.draining = true;
    if (this.streams.size === 0) this.shutdown();
  }

  /** Sends queued data as far as the windows and the peer's frame size allow, then pending ends. */
  flush(): void {
    if (this.destroyed) return;
    for (const stream of [...this.streams.values()]) {
      while (stream.queue.length > 0) {
        const chunk = stream.queue[0]!;
        const n = Math.min(chunk.length, stream.sendWindow, this.sendWindow, this.peerMaxFrameSize);
        if (n <= 0) break;
        if (n === chunk.length) stream.queue.shift();
        else stream.queue[0] = chunk.subarray(n);
        stream.sendWindow -= n;
        this.sendWindow -= n;
        const last = stream.queue.length === 0 && stream.ending;
        this.send(encodeFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, stream.id, chunk.subarray(0, n)));
        if (last) this.ended(stream, 'localEnded');
      }
      if (stream.ending && !stream.localEnded && stream.queue.length === 0) {
        this.send(encodeFrame(FrameType.DATA, Flag.END_STREAM, stream.id));
        this.ended(stream, 'localEnded');
      }
    }
  }

  reset(stream: H2Stream, code: number): void {
    this.send(encodeRstStream(stream.id, code));
    this.closeStream(stream);
  }

  private ended(stream: H2Stream, side: 'localEnded' | 'remoteEnded'): void {
    stream[side] = true;
    if (stream.localEnded && stream.remoteEnded) this.closeStream(stream);
  }

  private closeStream(stream: H2Stream, error?: StreamError): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    stream.events.onClose(error);
    if (this.draining && this.streams.size === 0) this.shutdown();
  }

  private shutdown(): void {
    // Close once the last frames are written, without waiting for the peer to hang up too.
    if (!this.destroyed && this.socket.writable) this.socket.end(() => this.socket.destroy());
  }

  /** The connection is gone (or broken): every open stream ends with `error`. */
  private destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket.destroy();
    for (const stream of [...this.streams.values()]) this.closeStream(stream, error);
  }

  private onFrame(f: Frame): void {
    if (this.headerBlock && f.type !== FrameType.CONTINUATION) throw new Error('HTTP/2: header block interrupted');
    const stream = this.streams.get(f.streamId);
    switch (f.type) {
      case FrameType.DATA: {
        const data = framePayload(f);
        // Padding counts against the windows too (section 6.9.1).
        const connIncrement = this.recvWindow.consume(f.payload.length);
        if (connIncrement > 0) this.send(encodeWindowUpdate(0, connIncrement));
        if (!stream || stream.remoteEnded) return;
        if (data.length > 0) stream.events.onData(data);
        if (f.flags & Flag.END_STREAM) return this.ended(stream, 'remoteEnded');
        const increment = stream.recvWindow.consume(f.payload.length);
        if (increment > 0 && !stream.closed) this.send(encodeWindowUpdate(stream.id, increment));
        return;
      }
      case FrameType.HEADERS:
        this.headerBlock = { streamId: f.streamId, endStream: (f.flags & Flag.END_STREAM) !== 0, parts: [] };
        return this.headerFragment(f, framePayload(f));
      case FrameType.CONTINUATION:
        if (this.headerBlock?.streamId !== f.streamId) throw new Error('HTTP/2: unexpected CONTINUATION');
        return this.headerFragment(f, f.payload);
      case FrameType.RST_STREAM: {
        const code = f.payload.readUInt32BE(0);
        // NO_ERROR and CANCEL just end the stream; others fail it (as node:http2 does).
        if (stream) this.closeStream(stream, code === 0 || code === CANCEL ? undefined : streamError(code));
        return;
      }
      case FrameType.SETTINGS:
        if (f.flags & Flag.ACK) return;
        for (const [id, value] of parseSettings(f.payload)) {
          if (id === Setting.MAX_FRAME_SIZE) this.peerMaxFrameSize = value;
          if (id === Setting.INITIAL_WINDOW_SIZE) {
            // A new initial window shifts every open stream's window by the difference (6.9.2).
            for (const s of this.streams.values()) s.sendWindow += value - this.peerInitialWindow;
            this.peerInitialWindow = value;
          }
        }
        this.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
        return this.flush();
      case FrameType.WINDOW_UPDATE: {
        const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
        if (f.streamId === 0) this.sendWindow += increment;
        else if (stream) stream.sendWindow += increment;
        return this.flush();
      }
      case FrameType.PING:
        if (!(f.flags & Flag.ACK)) this.send(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload));
        return;
      case FrameType.GOAWAY: {
        const lastStreamId = f.payload.readUInt32BE(0) & 0x7fffffff;
        const code = f.payload.readUInt32BE(4);
        this.draining = true;
        // Errors as node:http2 words them: the CLI matches "cancel" in messages to tell a Ctrl-C.
        if (code !== 0) return this.destroy(new Error(`Session closed with error code ${code}`));
        // Streams above the last one the peer processed will never be answered.
        for (const s of [...this.streams.values()]) if (s.id > lastStreamId) this.closeStream(s, streamError(7));
        if (this.streams.size === 0) this.shutdown();
        return;
      }
      case FrameType.PUSH_PROMISE:
        throw new Error('HTTP/2: PUSH_PROMISE although push is disabled');
      default:
        return; // PRIORITY and unknown frame types are ignored (section 4.1)
    }
  }

  private headerFragment(f: Frame, fragment: Buffer): void {
    const block = this.headerBlock!;
    block.parts.push(fragment);
    if (!(f.flags & Flag.END_HEADERS)) return;
    this.headerBlock = undefined;
    // Decode even for a stream we no longer know: the dynamic table must stay in step.
    const fields = this.decoder.decode(Buffer.concat(block.parts));
    const stream = this.streams.get(block.streamId);
    if (!stream) return;
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [name, value] of fields) headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    stream.events.onHeaders(headers);
    if (block.endStream) this.ended(stream, 'remoteEnded');
  }
}
