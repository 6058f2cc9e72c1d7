/**
 * The CBOR (RFC 8949) the engine's messages need: maps with text keys (as objects), arrays,
 * text and byte strings, integers, floats, booleans, null and undefined. Definite lengths
 * only; no tags. A general-purpose codec cost every client call 2-3 ms just to load.
 */

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_SIMPLE = 7;

const FALSE = 0xf4;
const TRUE = 0xf5;
const NULL = 0xf6;
const UNDEFINED = 0xf7;
const FLOAT64 = 0xfb;

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A head: major type and argument, in the shortest form. */
  head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) return this.byte(m | n);
    if (n < 0x100) {
      this.room(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.room(3);
      this.buf[this.pos++] = m | 25;
      this.pos = this.buf.writeUInt16BE(n, this.pos);
    } else if (n < 0x100000000) {
      this.room(5);
      this.buf[this.pos++] = m | 26;
      this.pos = this.buf.writeUInt32BE(n, this.pos);
    } else {
      this.room(9);
      this.buf[this.pos++] = m | 27;
      this.pos = this.buf.writeBigUInt64BE(BigInt(n), this.pos);
    }
  }

  float(x: number): void {
    this.room(9);
    this.buf[this.pos++] = FLOAT64;
    this.pos = this.buf.writeDoubleBE(x, this.pos);
  }

  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.head(MAJOR_TEXT, n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.head(MAJOR_BYTES, b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function encodeValue(w: Writer, v: unknown): void {
  switch (typeof v) {
    case 'string':
      return w.text(v);
    case 'number':
      if (Number.isSafeInteger(v)) return v >= 0 ? w.head(MAJOR_UINT, v) : w.head(MAJOR_NEGINT, -1 - v);
      return w.float(v);
    case 'boolean':
      return w.byte(v ? TRUE : FALSE);
    case 'undefined':
      return w.byte(UNDEFINED);
    case 'object': {
      if (v === null) return w.byte(NULL);
      if (v instanceof Uint8Array) return w.bytes(v);
      if (Array.isArray(v)) {
        w.head(MAJOR_ARRAY, v.length);
        for (const item of v) encodeValue(w, item);
        return;
      }
      const entries = Object.entries(v as Record<string, unknown>);
      w.head(MAJOR_MAP, entries.length);
      for (const [k, item] of entries) {
        w.text(k);
        encodeValue(w, item);
      }
      return;
    }
    default:
      throw new TypeError(`cannot encode a ${typeof v} as CBOR`);
  }
}

export function encodeCbor(value: unknown): Buffer {
  const w = new Writer();
  encodeValue(w, value);
  return w.result();
}

class Reader {
  pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated CBOR message');
  }

  /** The argument of a head whose low five bits are `info`. */
  private argument(info: number): number {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new RangeError(`unsupported CBOR argument ${info} (indefinite lengths are not used)`);
    this.need(size);
    const at = this.pos;
    this.pos += size;
    if (size === 1) return this.buf[at]!;
    if (size === 2) return this.buf.readUInt16BE(at);
    if (size === 4) return this.buf.readUInt32BE(at);
    const n = this.buf.readBigUInt64BE(at);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('CBOR integer beyond 2^53');
    return Number(n);
  }

  value(): unknown {
    this.need(1);
    const initial = this.buf[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === MAJOR_SIMPLE) return this.simple(info);
    const n = this.argument(info);
    switch (major) {
      case MAJOR_UINT:
        return n;
      case MAJOR_NEGINT:
        return -1 - n;
      case MAJOR_BYTES: {
        this.need(n);
        const b = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, n);
        this.pos += n;
        return b;
      }
      case MAJOR_TEXT: {
        this.need(n);
        const s = this.buf.toString('utf8', this.pos, this.pos + n);
        this.pos += n;
        return s;
      }
      case MAJOR_ARRAY: {
        const a: unknown[] = [];
        for (let i = 0; i < n; i++) a.push(this.value());
        return a;
      }
      case MAJOR_MAP: {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.value();
          if (typeof k !== 'string' && typeof k !== 'number') throw new RangeError('CBOR map key is not text');
          o[String(k)] = this.value();
        }
        return o;
      }
      default:
        throw new RangeError(`unsupported CBOR major type ${major} (tags are not used)`);
    }
  }

  private simple(info: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25: {
        this.need(2);
        const h = this.buf.readUInt16BE(this.pos);
        this.pos += 2;
        return halfToNumber(h);
      }
      case 26:
        this.need(4);
        this.pos += 4;
        return this.buf.readFloatBE(this.pos - 4);
      case 27:
        this.need(8);
        this.pos += 8;
        return this.buf.readDoubleBE(this.pos - 8);
      default:
        throw new RangeError(`unsupported CBOR simple value ${info}`);
    }
  }
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function decodeCbor(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = r.value();
  if (r.pos !== bytes.length) throw new RangeError('trailing bytes after a CBOR message');
  return v;
}
