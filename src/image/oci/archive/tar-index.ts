/**
 * An index of a tar archive on disk: each member's cleaned name, type and byte range, read
 * from the headers alone (contents are skipped with a seek), so a layer blob inside an image
 * archive is later streamed from its place in the file, never copied out. The archive comes
 * from a user: names are cleaned and must stay inside the archive, header fields are checked,
 * and the number of members and the size of PAX/long-name records are bounded.
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** More members than any image archive has (three or four per layer). */
export const MAX_TAR_ENTRIES = 65_536;
/** A PAX header or GNU long name record: paths are at most PATH_MAX, a few records each. */
const MAX_EXTENDED_HEADER = 1024 * 1024;
/** Symlink hops when one member points at another (docker save links repeated layers). */
const MAX_LINK_HOPS = 16;

export class ArchiveError extends Error {}

export interface TarMember {
  /** Cleaned, relative, `/`-separated; directories without the trailing slash. */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Offset of the contents in the archive file. */
  offset: number;
  size: number;
  linkname?: string;
}

const BLOCK = 512;

function cstr(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function octal(buf: Buffer, start: number, len: number, what: string): number {
  // GNU base-256 for values past the octal field (sizes of 8 GiB and more).
  if (buf[start]! & 0x80) {
    let n = buf[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) n = n * 256 + buf[i]!;
    if (!Number.isSafeInteger(n)) throw new ArchiveError(`tar header field ${what} is too large`);
    return n;
  }
  const text = cstr(buf, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new ArchiveError(`tar header field ${what} is not a number: "${text}"`);
  return Number.parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const text = cstr(h, 148, 8).trim();
  if (!/^[0-7]+$/.test(text)) return false;
  const stored = Number.parseInt(text, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

/**
 * Cleans a member name as a relative path inside the archive; a name that is absolute, or
 * leaves the archive after cleaning, is refused.
 */
export function cleanMemberName(raw: string): string {
  if (raw.includes('\0')) throw new ArchiveError(`archive member name has a NUL byte: ${JSON.stringify(raw)}`);
  if (raw.startsWith('/')) throw new ArchiveError(`archive member ${JSON.stringify(raw)} has an absolute path`);
  const clean = path.posix.normalize(raw).replace(/\/+$/, '');
  if (clean === '..' || clean.startsWith('../')) throw new ArchiveError(`archive member ${JSON.stringify(raw)} points outside the archive`);
  return clean === '.' ? '' : clean;
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) break;
    const len = Number(data.toString('ascii', pos, sp));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new ArchiveError('malformed PAX header in archive');
    const record = data.toString('utf8', sp + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** A tar archive opened for reading: its index and positional streams into its members. */
export class TarArchive {
  private constructor(
    private readonly fh: FileHandle,
    readonly members: ReadonlyMap<string, TarMember>,
    readonly file: string,
  ) {}

  /** Opens and indexes `file` (a regular file). The caller closes it. */
  static async open(file: string, maxEntries = MAX_TAR_ENTRIES): Promise<TarArchive> {
    const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ArchiveError(`${file} is not a regular file`);
      const members = await indexMembers(fh, st.size, maxEntries);
      return new TarArchive(fh, members, file);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  /** The regular file at `name`, following symlinks and hard links between members. */
  resolve(name: string): TarMember | undefined {
    let cur = cleanMemberName(name);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const m = this.members.get(cur);
      if (!m) return undefined;
      if (m.type === 'file') return m;
      if (m.type === 'hardlink') cur = cleanMemberName(m.linkname ?? '');
      else if (m.type === 'symlink') {
        const target = m.linkname ?? '';
        if (target.startsWith('/')) throw new ArchiveError(`archive member ${m.name} links to an absolute path`);
        cur = cleanMemberName(path.posix.join(path.posix.dirname(m.name), target));
      } else return undefined;
    }
    throw new ArchiveError(`archive member ${name}: too many links`);
  }

  /** The whole of a small member, refused past `limit` bytes. */
  async readSmall(m: TarMember, limit: number): Promise<Buffer> {
    if (m.size > limit) throw new ArchiveError(`${m.name} in the archive is ${m.size} bytes, over the limit of ${limit}`);
    const buf = Buffer.alloc(m.size);
    let done = 0;
    while (done < m.size) {
      const { bytesRead } = await this.fh.read(buf, done, m.size - done, m.offset + done);
      if (bytesRead === 0) throw new ArchiveError(`${m.name}: the archive ends early`);
      done += bytesRead;
    }
    return buf;
  }

  /** The member's bytes read from its place in the archive (positional reads: several may run at once). */
  stream(m: TarMember): Readable {
    if (m.size === 0) return fs.createReadStream('/dev/null');
    return fs.createReadStream('', { fd: this.fh.fd, start: m.offset, end: m.offset + m.size - 1, autoClose: false, highWaterMark: 256 * 1024 });
  }
}

async function indexMembers(fh: FileHandle, fileSize: number, maxEntries: number): Promise<Map<string, TarMember>> {
  const members = new Map<string, TarMember>();
  const h = Buffer.alloc(BLOCK);
  let pos = 0;
  let count = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  const readExtended = async (size: number, at: number): Promise<Buffer> => {
    if (size > MAX_EXTENDED_HEADER) throw new ArchiveError(`an extended tar header of ${size} bytes is over the limit of ${MAX_EXTENDED_HEADER}`);
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, at);
    if (bytesRead !== size) throw new ArchiveError('the archive ends inside a tar header');
    return buf;
  };
  for (;;) {
    const { bytesRead } = await fh.read(h, 0, BLOCK, pos);
    if (bytesRead === 0 && count === 0) throw new ArchiveError('the archive is empty');
    if (bytesRead === 0) break; // no end-of-archive blocks: Go's archive/tar accepts that too
    if (bytesRead < BLOCK) throw new ArchiveError('the archive ends inside a tar header');
    if (h.every((b) => b === 0)) break;
    if (!checksumOk(h)) throw new ArchiveError(count === 0 ? 'not a tar archive' : `bad tar header checksum at offset ${pos}`);
    if (++count > maxEntries) throw new ArchiveError(`the archive has more than ${maxEntries} members`);
    const flag = String.fromCharCode(h[156]!);
    // A PAX size (files of 8 GiB and more) replaces the header's.
    const paxSize = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K' ? undefined : pax.get('size');
    const size = paxSize !== undefined ? Number(paxSize) : octal(h, 124, 12, 'size');
    if (!Number.isSafeInteger(size) || size < 0) throw new ArchiveError(`bad member size at offset ${pos}`);
    const dataAt = pos + BLOCK;
    if (dataAt + size > fileSize) throw new ArchiveError(`the archive ends inside member at offset ${pos}`);
    pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L' || flag === 'K') {
      const v = cstr(await readExtended(size, dataAt), 0, size);
      if (flag === 'L') longName = v;
      else longLink = v;
      continue;
    }
    if (flag === 'x') {
      pax = parsePax(await readExtended(size, dataAt));
      continue;
    }
    if (flag === 'g') continue;
    const ustar = h.toString('ascii', 257, 262) === 'ustar';
    const prefix = ustar ? cstr(h, 345, 155) : '';
    const rawName = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    const linkname = pax.get('linkpath') ?? longLink ?? cstr(h, 157, 100);
    longName = longLink = undefined;
    pax = new Map();
    const type: TarMember['type'] =
      flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : 'other';
    const name = cleanMemberName(rawName);
    if (name === '') continue;
    const prev = members.get(name);
    if (prev && !(prev.type === 'dir' && type === 'dir')) throw new ArchiveError(`the archive has the member ${name} twice`);
    members.set(name, { name, type, offset: dataAt, size: type === 'file' ? size : 0, ...(type === 'symlink' || type === 'hardlink' ? { linkname } : {}) });
  }
  return members;
}
