import { GrpcError, Status } from './grpc-status.js';

/** gRPC's length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length, payload. */
const PREFIX = 5;

export function frameMessage(payload: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX + payload.length);
  framed[0] = 0;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, PREFIX);
  return framed;
}

/**
 * Cuts an HTTP/2 request body into messages: a message may span DATA frames and several may
 * share one. Chunks are kept as a list and joined once per message, so a large message sent
 * in 16 KiB frames is copied once rather than once per frame.
 */
export class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxLength: number,
    /** The request's grpc-encoding, named when a compressed message is refused. */
    private readonly encoding: string,
  ) {}

  /** The messages completed by `chunk`; throws a GrpcError for one this server cannot take. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    while (this.buffered >= PREFIX) {
      const head = this.peekPrefix();
      if (head[0] !== 0) {
        throw new GrpcError(Status.UNIMPLEMENTED, `compressed messages are not supported (grpc-encoding ${this.encoding})`);
      }
      const length = head.readUInt32BE(1);
      if (length > this.maxLength) {
        throw new GrpcError(Status.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${this.maxLength})`);
      }
      if (this.buffered < PREFIX + length) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      messages.push(all.subarray(PREFIX, PREFIX + length));
      const rest = all.subarray(PREFIX + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return messages;
  }

  private peekPrefix(): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= PREFIX) return first;
    // The prefix itself is split across frames (rare): join just enough to read it.
    this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }
}
