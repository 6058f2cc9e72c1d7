/** HTTP/2 frames (RFC 7540 section 4 and 6): the 9-byte header, encoding, and a streaming parser. */

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Error codes (section 7), by value, for RST_STREAM and GOAWAY messages. */
export const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
] as const;
export const CANCEL = 0x8;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The smallest maximum frame size a peer may set, and everyone's default. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** Every window starts here until SETTINGS or WINDOW_UPDATE say otherwise. */
export const DEFAULT_WINDOW = 65_535;

export type Frame = { type: number; flags: number; streamId: number; payload: Buffer };

const HEADER_SIZE = 9;

export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, HEADER_SIZE);
  return out;
}

export function encodeSettings(settings: [id: number, value: number][]): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

export function parseSettings(payload: Buffer): [id: number, value: number][] {
  if (payload.length % 6 !== 0) throw new Error('HTTP/2 SETTINGS frame of bad length');
  const out: [number, number][] = [];
  for (let i = 0; i < payload.length; i += 6) out.push([payload.readUInt16BE(i), payload.readUInt32BE(i + 2)]);
  return out;
}

function u32Frame(type: number, streamId: number, value: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(value, 0);
  return encodeFrame(type, 0, streamId, payload);
}

export const encodeWindowUpdate = (streamId: number, increment: number): Buffer => u32Frame(FrameType.WINDOW_UPDATE, streamId, increment);
export const encodeRstStream = (streamId: number, code: number): Buffer => u32Frame(FrameType.RST_STREAM, streamId, code);

/** The data of a DATA frame or the header block fragment of a HEADERS frame, without padding or priority. */
export function framePayload(f: Frame): Buffer {
  let start = 0;
  let end = f.payload.length;
  if (f.flags & Flag.PADDED) {
    start = 1;
    end -= f.payload[0] ?? 0;
  }
  if (f.type === FrameType.HEADERS && f.flags & Flag.PRIORITY) start += 5;
  if (end < start) throw new Error('HTTP/2 frame padding exceeds its payload');
  return f.payload.subarray(start, end);
}

/** Cuts a byte stream into frames; a frame split across reads waits for the rest. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER_SIZE) {
      const length = this.pending.readUIntBE(0, 3);
      // We never raise SETTINGS_MAX_FRAME_SIZE, so a larger frame is the peer's error (section 4.2).
      if (length > this.maxFrameSize) throw new Error(`HTTP/2 frame of ${length} bytes exceeds the maximum frame size`);
      if (this.pending.length < HEADER_SIZE + length) break;
      frames.push({
        type: this.pending[3]!,
        flags: this.pending[4]!,
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.pending.subarray(HEADER_SIZE, HEADER_SIZE + length),
      });
      this.pending = this.pending.subarray(HEADER_SIZE + length);
    }
    return frames;
  }
}
