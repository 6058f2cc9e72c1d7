/**
 * HPACK (RFC 7541). The decoder is complete, because the daemon's HTTP/2 stack (nghttp2
 * under grpc-js) indexes headers into the dynamic table and Huffman-codes strings. The
 * encoder sends plain literals without indexing: requests carry a handful of short headers,
 * and a stateless encoder cannot fall out of step.
 * Strings are latin1, so a string's length is its size in octets (section 4.1).
 */

export type HeaderList = [name: string, value: string][];

// Appendix A; "name" or "name value", split at the first space.
const STATIC_TABLE: readonly [string, string][] = [
  ':authority',
  ':method GET',
  ':method POST',
  ':path /',
  ':path /index.html',
  ':scheme http',
  ':scheme https',
  ':status 200',
  ':status 204',
  ':status 206',
  ':status 304',
  ':status 400',
  ':status 404',
  ':status 500',
  'accept-charset',
  'accept-encoding gzip, deflate',
  'accept-language',
  'accept-ranges',
  'accept',
  'access-control-allow-origin',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-range',
  'content-type',
  'cookie',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'link',
  'location',
  'max-forwards',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'refresh',
  'retry-after',
  'server',
  'set-cookie',
  'strict-transport-security',
  'transfer-encoding',
  'user-agent',
  'vary',
  'via',
  'www-authenticate',
].map((e) => {
  const space = e.indexOf(' ');
  return space < 0 ? [e, ''] : [e.slice(0, space), e.slice(space + 1)];
});

// Appendix B: the code length of each symbol 0..255 and EOS (256). The code is canonical
// (codes of one length are consecutive in symbol order), so the lengths define it.
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11,
  10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7,
  8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23,
  22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23,
  23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26,
  27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27,
  27, 27, 26, 30,
];
const EOS = 256;

// The canonical code, built on first use: `order` holds the symbols by code length, then value,
// which is code order; for each length, `first` is its first code and `start` where its
// symbols begin in `order`.
const order: number[] = [];
const first: number[] = [];
const start: number[] = [];
const codes: [code: number, length: number][] = [];

function buildCode(): void {
  if (order.length > 0) return;
  const byLength: number[][] = Array.from({ length: 31 }, () => []);
  for (const [sym, length] of HUFFMAN_LENGTHS.entries()) byLength[length]!.push(sym);
  let code = 0;
  for (let length = 1; length <= 30; length++) {
    code *= 2; // the first code of a length follows the last shorter one, one bit longer
    first[length] = code;
    start[length] = order.length;
    for (const sym of byLength[length]!) {
      order.push(sym);
      codes[sym] = [code++, length]; // codes pass 2^31: arithmetic, not bit operations
    }
  }
  start[31] = order.length;
}

/** Each symbol's [code, length], for the tests to hold against RFC 7541 Appendix B. */
export function huffmanCodes(): [code: number, length: number][] {
  buildCode();
  return codes;
}

export function huffmanDecode(bytes: Buffer): string {
  buildCode();
  const out: number[] = [];
  let code = 0;
  let length = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      length++;
      // The codes of one length are consecutive; the prefix of a longer code lies above them.
      const i = code - first[length]!;
      if (i >= start[length + 1]! - start[length]!) continue;
      const sym = order[start[length]! + i]!;
      if (sym === EOS) throw new Error('HPACK: EOS in a Huffman-coded string');
      out.push(sym);
      code = 0;
      length = 0;
    }
  }
  // Section 5.2: the padding is the start of EOS (all ones), shorter than a byte.
  if (length > 7 || code !== 2 ** length - 1) throw new Error('HPACK: bad Huffman padding');
  return Buffer.from(out).toString('latin1');
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  peek(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw new Error('HPACK: truncated header block');
    return b;
  }

  /** Section 5.1: an integer in the low `prefix` bits of the current byte, then 7 bits per byte. */
  int(prefix: number): number {
    const max = (1 << prefix) - 1;
    let value = this.peek() & max;
    this.pos++;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw new Error('HPACK: integer too large');
      const b = this.peek();
      this.pos++;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** Section 5.2: H flag, length, octets. */
  string(): string {
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.int(7);
    if (this.pos + length > this.buf.length) throw new Error('HPACK: truncated string');
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return huffman ? huffmanDecode(bytes) : bytes.toString('latin1');
  }
}

/** One per connection: the dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest entry first, as the indices count (section 2.3.3). */
  readonly entries: [string, string][] = [];
  size = 0;
  private capacity: number;

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE we advertised: the encoder may not go above it. */
  constructor(private readonly limit = 4096) {
    this.capacity = limit;
  }

  decode(block: Buffer): HeaderList {
    const r = new Reader(block);
    const headers: HeaderList = [];
    while (r.pos < block.length) {
      const b = r.peek();
      if (b & 0x80) {
        headers.push(this.lookup(r.int(7))); // 6.1 indexed
      } else if (b & 0x40) {
        const field = this.literal(r, 6); // 6.2.1 with incremental indexing
        headers.push(field);
        this.add(field);
      } else if (b & 0x20) {
        const size = r.int(5); // 6.3 dynamic table size update
        if (size > this.limit) throw new Error('HPACK: table size update above our limit');
        this.capacity = size;
        this.evict(0);
      } else {
        headers.push(this.literal(r, 4)); // 6.2.2 without indexing, 6.2.3 never indexed
      }
    }
    return headers;
  }

  private literal(r: Reader, prefix: number): [string, string] {
    const index = r.int(prefix);
    const name = index === 0 ? r.string() : this.lookup(index)[0];
    return [name, r.string()];
  }

  private lookup(index: number): [string, string] {
    const entry = index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.entries[index - STATIC_TABLE.length - 1];
    if (index === 0 || !entry) throw new Error(`HPACK: bad table index ${index}`);
    return entry;
  }

  private add(field: [string, string]): void {
    const size = field[0].length + field[1].length + 32; // section 4.1
    // An entry larger than the table empties it and is not added (section 4.4).
    this.evict(size);
    if (size <= this.capacity) {
      this.entries.unshift(field);
      this.size += size;
    }
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.entries.length > 0 && this.size + room > this.capacity) {
      const [name, value] = this.entries.pop()!;
      this.size -= name.length + value.length + 32;
    }
  }
}

/** A string literal (5.2) without Huffman coding: its length as a 7-bit-prefix integer (5.1), then its octets. */
function encodeString(out: number[], text: string): void {
  let n = text.length;
  if (n >= 0x7f) {
    out.push(0x7f);
    for (n -= 0x7f; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  }
  out.push(n);
  for (const b of Buffer.from(text, 'latin1')) out.push(b);
}

/** Literals without indexing, names included (6.2.2): no state to keep, and requests are small. */
export function encodeHeaders(headers: HeaderList): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0);
    encodeString(out, name);
    encodeString(out, value);
  }
  return Buffer.from(out);
}
