import http2 from 'node:http2';
import { decodeMessage, encodeMessage } from '../../api/codec.js';
import { frameMessage, MessageReader } from '../../api/grpc-framing.js';
import { encodeGrpcMessage, GrpcError, parseTimeout, Status, type CallStatus } from '../../api/grpc-status.js';
import { buffered, GRPC_LIMITS } from './limits.js';

const MiB = 1024 * 1024;

/** setTimeout's ceiling; a longer grpc-timeout is as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc',
  // Tells a client that compresses what this server takes (the gRPC spec's answer to it).
  'grpc-accept-encoding': 'identity',
};

/** How a call's messages are read and written: CBOR for the isula services, protobuf for CRI. */
export interface MessageCodec {
  decode(bytes: Buffer): unknown;
  encode(message: unknown): Uint8Array;
}

export const CBOR_CODEC: MessageCodec = { decode: decodeMessage, encode: encodeMessage };

function header(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * One gRPC call on one HTTP/2 stream: decoded requests in, framed responses out, and a
 * status at the end, in trailers or (when nothing was sent yet) trailers-only.
 */
export class ServerCall {
  private ended = false;
  private headersSent = false;
  private isCancelled = false;
  /** The stream's write buffer is full: responses wait here until 'drain'. */
  private waiting = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** What this call counts in the daemon-wide budget: unsent responses and a partial request. */
  private charged = 0;
  private requestBytes = 0;
  private readonly drainWaiters: (() => void)[] = [];
  private grace: NodeJS.Timeout | undefined;
  private pauses = 0;
  private trailers: http2.OutgoingHttpHeaders = {};
  private readonly cancelListeners: (() => void)[] = [];
  private readonly deadline: NodeJS.Timeout | undefined;
  private receive: ((chunk: Buffer) => void) | undefined;
  /** The request's grpc-encoding, named when a compressed message is refused. */
  private readonly encoding: string;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly codec: MessageCodec = CBOR_CODEC,
  ) {
    // A reset stream or a lost connection shows as 'close'; 'error' needs a listener only so
    // that it does not throw.
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(this.deadline);
      clearTimeout(this.grace);
      if (!this.ended) this.cancel();
      this.requestBytes = 0;
      this.recharge(0);
      this.wakeWriters();
    });
    stream.on('drain', () => this.flush());
    stream.on('wantTrailers', () => stream.sendTrailers(this.trailers));
    // Always read, so a refused call's body is drained and the client's flow-control window
    // does not stall; without a reader the bytes are dropped.
    stream.on('data', (chunk: Buffer) => this.receive?.(chunk));
    const timeout = parseTimeout(header(headers, 'grpc-timeout'));
    if (timeout !== undefined && timeout <= MAX_TIMER_MS) {
      this.deadline = setTimeout(() => this.fail(new GrpcError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), timeout);
    }
    this.encoding = header(headers, 'grpc-encoding') ?? 'identity';
  }

  get cancelled(): boolean {
    return this.isCancelled;
  }

  /**
   * Resolves once the stream has closed: its trailers are out, or it was reset. node:http2
   * sends the trailers a loop turn after the last DATA frame ('wantTrailers' comes from its
   * send pass, and sendTrailers defers to setImmediate); work begun right after the handler
   * would run before them, and the client's call ends only with them. 'close' is emitted
   * from within that send pass, before its bytes reach the socket: hence the setImmediate.
   */
  answered(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.stream.closed || this.stream.destroyed) setImmediate(resolve);
      else this.stream.once('close', () => setImmediate(resolve));
    });
    return this.closed;
  }

  /** Hands each request message to `onMessage`, and calls `onEnd` when the client half-closes. */
  read(onMessage: (message: unknown) => void, onEnd: () => void): void {
    const reader = new MessageReader(GRPC_LIMITS.maxMessageBytes, this.encoding);
    this.receive = (chunk) => {
      if (this.ended || this.isCancelled) return;
      try {
        this.requestBytes += chunk.length;
        // node:http2 hands out slices of its read buffers, which hold other calls' bytes too:
        // a copy keeps what a partial message holds to its own size.
        for (const raw of reader.push(chunk.byteLength < chunk.buffer.byteLength ? Buffer.from(chunk) : chunk)) {
          this.requestBytes -= raw.length + 5;
          let message: unknown;
          try {
            message = this.codec.decode(raw);
          } catch (e) {
            throw new GrpcError(Status.INTERNAL, `cannot decode request message: ${(e as Error).message}`);
          }
          onMessage(message);
          if (this.ended || this.isCancelled) return;
        }
        // Past the daemon-wide budget, only a call still waiting for the rest of a message is
        // refused: a small request, whole in its chunk, holds nothing.
        if (!this.recharge() && this.requestBytes > 0) {
          throw new GrpcError(
            Status.RESOURCE_EXHAUSTED,
            `the server holds more than ${GRPC_LIMITS.maxBufferedBytes / MiB} MiB of requests and responses; try again later`,
          );
        }
      } catch (e) {
        if (!(e instanceof GrpcError)) throw e;
        this.fail(e);
      }
    };
    this.stream.on('end', () => {
      if (!this.ended && !this.isCancelled) onEnd();
    });
  }

  /** Stops reading requests until as many resumeInput calls: the client's window then closes. */
  pauseInput(): void {
    if (this.pauses++ === 0) this.stream.pause();
  }

  resumeInput(): void {
    if (this.pauses === 0) return;
    if (--this.pauses === 0 && !this.stream.destroyed) this.stream.resume();
  }

  /** Sends one response; dropped once the call has ended or been cancelled. */
  send(message: unknown): void {
    // destroyed comes a tick before 'close' (and the cancel).
    if (this.ended || this.isCancelled || this.stream.destroyed) return;
    this.sendHeaders();
    const framed = frameMessage(this.codec.encode(message));
    // Past the stream's high-water mark, hold responses instead of piling up writes; they go
    // out as one write at 'drain'.
    if (this.waiting) {
      this.held.push(framed);
      this.heldBytes += framed.length;
    } else this.waiting = !this.stream.write(framed);
    this.limitBacklog();
  }

  /** Resolves once the backlog has gone out, or the call is over. */
  drained(): Promise<void> {
    if (!this.waiting || this.ended || this.isCancelled) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * A client that does not read (stopped, or slower than the container it follows) must not
   * make the daemon hold its output without end: past the backlog limit the call ends with
   * RESOURCE_EXHAUSTED, which the client reads after what it was already sent; if it never
   * reads, the stream is reset after a grace period, freeing what it holds.
   */
  private limitBacklog(): void {
    const backlog = this.stream.writableLength + this.heldBytes;
    const withinBudget = this.recharge();
    // Past the daemon-wide budget, only calls that themselves have a backlog are ended.
    if (backlog <= GRPC_LIMITS.maxCallBacklogBytes && (withinBudget || !this.waiting)) return;
    const why =
      backlog > GRPC_LIMITS.maxCallBacklogBytes
        ? `more than ${GRPC_LIMITS.maxCallBacklogBytes / MiB} MiB`
        : `the server's ${GRPC_LIMITS.maxBufferedBytes / MiB} MiB for all calls`;
    this.held = [];
    this.heldBytes = 0;
    this.fail(new GrpcError(Status.RESOURCE_EXHAUSTED, `the client is not reading its output: ${why} unsent; output dropped`));
    this.grace = setTimeout(() => this.stream.close(http2.constants.NGHTTP2_CANCEL), GRPC_LIMITS.dropGraceMs);
    this.grace.unref();
  }

  /** Brings this call's share of the daemon-wide budget up to date; false when the budget is exceeded. */
  private recharge(now = this.stream.writableLength + this.heldBytes + this.requestBytes): boolean {
    const ok = buffered.adjust(now - this.charged);
    this.charged = now;
    return ok;
  }

  private wakeWriters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Ends the call with `status`; a no-op after the first time or once the stream is gone. */
  finish(status: CallStatus): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.deadline);
    const { stream } = this;
    if (stream.destroyed || stream.closed) return;
    const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(status.code), ...status.metadata };
    if (status.message) trailers['grpc-message'] = encodeGrpcMessage(status.message);
    if (!this.headersSent) {
      // Nothing sent yet: the status travels in the response headers, which end the stream.
      this.headersSent = true;
      stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
      return;
    }
    // Sent at 'wantTrailers', after the last DATA frame.
    this.trailers = trailers;
    if (this.held.length > 0) stream.write(Buffer.concat(this.held.splice(0)));
    this.heldBytes = 0;
    stream.end();
    this.wakeWriters();
  }

  /** Ends a call that cannot go on (bad request, deadline): the handler sees a cancel. */
  fail(error: GrpcError): void {
    if (this.ended) return;
    this.cancel();
    this.finish({ code: error.code, message: error.message });
  }

  /** Runs `listener` when the client goes away or the call fails; at once if it already has. */
  onCancel(listener: () => void): void {
    if (this.isCancelled) queueMicrotask(listener);
    else this.cancelListeners.push(listener);
  }

  private cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    this.held = [];
    this.heldBytes = 0;
    // The rest of the request is read and dropped: a partial message held by the reader goes.
    this.receive = undefined;
    this.requestBytes = 0;
    this.recharge();
    this.wakeWriters();
    for (const listener of this.cancelListeners.splice(0)) listener();
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  }

  private flush(): void {
    this.waiting = false;
    if (this.held.length > 0 && !this.ended) {
      this.waiting = !this.stream.write(Buffer.concat(this.held.splice(0)));
      this.heldBytes = 0;
    }
    this.recharge();
    if (!this.waiting) this.wakeWriters();
  }
}
