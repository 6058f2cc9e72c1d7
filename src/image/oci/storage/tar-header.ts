/**
 * Tar headers, read and written (POSIX ustar, GNU and PAX, as GNU tar and Go's archive/tar
 * write them). Reading is lenient where formats differ harmlessly and strict where a
 * misreading could change what lands on disk: the unpacker never hands an original header to
 * GNU tar, it writes a fresh one from what was read here (see unpack.ts), so this reader's
 * view is the only one that counts.
 */

export const BLOCK = 512;

/** What one header block says, before PAX and GNU long names are applied. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** Thrown for a header this reader refuses; the unpacker adds the layer and entry. */
export class TarFormatError extends Error {}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(block: Buffer, off: number, len: number): string {
  const field = block.subarray(off, off + len);
  const end = field.indexOf(0);
  return utf8(end < 0 ? field : field.subarray(0, end));
}

/** Names are bytes in tar; the store keeps them as strings, so they must be UTF-8. */
export function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new TarFormatError('a name that is not UTF-8');
  }
}

/** An octal field (NUL/space padded) or GNU's base-256 (high bit of the first byte set). */
function num(block: Buffer, off: number, len: number, what: string): number {
  const field = block.subarray(off, off + len);
  if (field[0]! & 0x80) {
    // Go writes times before 1970 negative; they mean nothing to a layer.
    if (field[0] === 0xff && what === 'mtime') return 0;
    if (field[0] === 0xff) throw new TarFormatError(`a negative ${what}`);
    let v = field[0]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + field[i]!;
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`a ${what} too large`);
    return v;
  }
  const s = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`a ${what} that is not a number (${JSON.stringify(s)})`);
  return parseInt(s, 8);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum;
}

export function parseHeader(block: Buffer): RawHeader {
  if (num(block, 148, 8, 'checksum') !== checksumOf(block)) throw new TarFormatError('a header with a wrong checksum');
  const magic = block.toString('latin1', 257, 263);
  let name = text(block, 0, 100);
  // POSIX ustar ("ustar\0") splits long names into prefix/name; GNU's "ustar " keeps other data there.
  if (magic === 'ustar\0') {
    const prefix = text(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: num(block, 100, 8, 'mode'),
    uid: num(block, 108, 8, 'uid'),
    gid: num(block, 116, 8, 'gid'),
    size: num(block, 124, 12, 'size'),
    mtime: num(block, 136, 12, 'mtime'),
    type: String.fromCharCode(block[156]!),
    linkname: text(block, 157, 100),
    devmajor: magic.startsWith('ustar') ? num(block, 329, 8, 'device major') : 0,
    devminor: magic.startsWith('ustar') ? num(block, 337, 8, 'device minor') : 0,
  };
}

/** PAX extended header records: `<len> <key>=<value>\n`, values raw bytes. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    if (data[off] === 0) break; // NUL padding after the last record
    const space = data.indexOf(0x20, off);
    if (space < 0) throw new TarFormatError('a malformed PAX header');
    const len = Number(data.toString('latin1', off, space));
    if (!Number.isSafeInteger(len) || len <= space - off || off + len > data.length || data[off + len - 1] !== 0x0a) {
      throw new TarFormatError('a malformed PAX header');
    }
    const record = data.subarray(space + 1, off + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new TarFormatError('a malformed PAX header');
    out.set(utf8(record.subarray(0, eq)), Buffer.from(record.subarray(eq + 1)));
    off += len;
  }
  return out;
}

/** Everything the unpacker hands GNU tar for one entry. */
export interface OutEntry {
  name: string;
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** xattr name → value, written as PAX SCHILY.xattr records. */
  xattrs?: Map<string, Buffer>;
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

function putNum(block: Buffer, off: number, len: number, v: number): void {
  const octal = v.toString(8);
  if (octal.length < len) {
    block.write(`${octal.padStart(len - 1, '0')}\0`, off, 'latin1');
    return;
  }
  // GNU base-256 for what octal cannot hold (sizes over 8 GiB, large ids).
  block[off] = 0x80;
  for (let i = len - 1, x = v; i > 0; i--, x = Math.floor(x / 256)) block[off + i] = x % 256;
}

function headerBlock(
  name: Buffer,
  type: string,
  e: { mode: number; uid: number; gid: number; mtime: number; size: number },
  link?: Buffer,
  dev?: [number, number],
): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0, 0, Math.min(100, name.length));
  putNum(block, 100, 8, e.mode & 0o7777);
  putNum(block, 108, 8, e.uid);
  putNum(block, 116, 8, e.gid);
  putNum(block, 124, 12, e.size);
  putNum(block, 136, 12, Math.max(0, e.mtime));
  block.write(type, 156, 'latin1');
  link?.copy(block, 157, 0, Math.min(100, link.length));
  block.write('ustar  \0', 257, 'latin1'); // GNU format: long names as 'L'/'K' entries, base-256 numbers
  putNum(block, 329, 8, dev?.[0] ?? 0);
  putNum(block, 337, 8, dev?.[1] ?? 0);
  block.write(`${checksumOf(block).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function withData(header: Buffer, data: Buffer): Buffer[] {
  const pad = Buffer.alloc(padded(data.length) - data.length);
  return [header, data, pad];
}

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };

/** The header blocks (and long-name data) for one entry; the caller writes the content after. */
export function buildHeaders(e: OutEntry): Buffer[] {
  const out: Buffer[] = [];
  const name = Buffer.from(e.name);
  const link = e.linkname === undefined ? undefined : Buffer.from(e.linkname);
  if (e.xattrs && e.xattrs.size > 0) {
    const records: Buffer[] = [];
    for (const [key, value] of e.xattrs) {
      const body = Buffer.concat([Buffer.from(` SCHILY.xattr.${key}=`), value, Buffer.from('\n')]);
      // The length counts its own digits.
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      records.push(Buffer.from(String(len)), body);
    }
    const data = Buffer.concat(records);
    out.push(...withData(headerBlock(Buffer.from('././@PaxHeader'), 'x', { ...meta, size: data.length }), data));
  }
  if (link && link.length > 100) {
    const data = Buffer.concat([link, Buffer.alloc(1)]);
    out.push(...withData(headerBlock(Buffer.from('././@LongLink'), 'K', { ...meta, size: data.length }), data));
  }
  if (name.length > 100) {
    const data = Buffer.concat([name, Buffer.alloc(1)]);
    out.push(...withData(headerBlock(Buffer.from('././@LongLink'), 'L', { ...meta, size: data.length }), data));
  }
  out.push(headerBlock(name, e.type, e, link, [e.devmajor ?? 0, e.devminor ?? 0]));
  return out;
}

/** Zero bytes that round `size` up to whole blocks. */
export const paddingOf = (size: number): number => padded(size) - size;
