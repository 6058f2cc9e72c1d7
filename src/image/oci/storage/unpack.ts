/**
 * Unpacking one layer, which comes from the network and is hostile.
 *
 * Node has no mknod, setxattr or lchown of device nodes, so GNU tar writes the files; but GNU
 * tar never sees the layer's own headers. One JS pass reads the uncompressed stream, checks
 * every entry (paths cleaned and kept inside the layer, no write through a symlink or a
 * non-directory made earlier in the layer, hard links only to earlier regular files, types,
 * xattr namespaces, sizes, counts, free space), and writes for GNU tar a fresh header of its
 * own for each entry it accepts (GNU format, numeric ids), so no difference between two tar
 * parsers can put a file where this pass did not check it. OCI whiteouts become what overlay
 * wants on the way: `.wh.NAME` a 0/0 character device NAME, `.wh..wh..opq` the xattr
 * `trusted.overlay.opaque=y` on its directory. The same pass hashes the stream (the diff_id)
 * and writes the skeleton (skeleton.ts) that gives back the original tar.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import { Readable, type Transform, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { type EngineError, generalError, resourceExhausted } from '../../../api/errors.js';
import type { Descriptor } from '../types.js';
import { VerifyStream } from '../registry/verify.js';
import { SkeletonWriter } from './skeleton.js';
import { BLOCK, buildHeaders, isZeroBlock, type OutEntry, paddingOf, parseHeader, parsePax, type RawHeader, TarFormatError, utf8 } from './tar-header.js';

export interface UnpackLimits {
  /** Uncompressed bytes of the layer tar. */
  maxBytes: number;
  /** Entries (files, directories, links...) in one layer. */
  maxEntries: number;
  /** Free bytes the filesystem of the layer directory keeps. */
  minFreeSpace: number;
}

export const DEFAULT_MAX_ENTRIES = 1_000_000;
/** Linux's PATH_MAX and NAME_MAX. */
const MAX_PATH = 4096;
const MAX_NAME = 255;
/** PAX records per entry (xattrs included) and GNU long names. */
const MAX_PAX = 1024 * 1024;
const MAX_LONGNAME = MAX_PATH + 1;
const FREE_CHECK_EVERY = 64 * 1024 * 1024;
/** Decompressed chunk size: 256 KiB (zlib's default is 16 KiB). */
const DECODE_CHUNK = 256 * 1024;

export interface UnpackResult {
  /** Uncompressed bytes. */
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  entries: number;
  /** Directories made opaque and paths whited out, relative to the layer root ('' is the root). */
  opaqueDirs: string[];
  whiteouts: string[];
}

type Kind = 'dir' | 'file' | 'hardlink' | 'symlink' | 'node' | 'whiteout';

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Picks the decompressor from the first bytes, as Docker does (media types lie: docker save calls plain tar "tar.gzip"). */
async function* decompressed(src: Readable, what: string, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < 4) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(r.value);
    headBytes += r.value.length;
    onBytes(r.value.length);
  }
  const first = Buffer.concat(head);
  async function* raw(): AsyncGenerator<Buffer> {
    yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      onBytes(r.value.length);
      yield r.value;
    }
  }
  let decoder: Transform | undefined;
  // zlib's default 16 KiB output chunks made each layer byte pay for 16 KiB's share of a
  // thread-pool trip, a hash update, a tar-pass call and a pipe write to GNU tar.
  if (first[0] === 0x1f && first[1] === 0x8b) decoder = zlib.createGunzip({ chunkSize: DECODE_CHUNK });
  else if (first.length >= 4 && first.readUInt32LE(0) === 0xfd2fb528) {
    const zstd = (zlib as unknown as { createZstdDecompress?: (o: { chunkSize: number }) => Transform }).createZstdDecompress;
    if (!zstd) {
      src.destroy();
      throw generalError(`layer ${what}: zstd-compressed, and this runtime (Node ${process.versions.node}) cannot decompress zstd`);
    }
    decoder = zstd({ chunkSize: DECODE_CHUNK });
  } else if (first[0] === 0x42 && first[1] === 0x5a && first[2] === 0x68) {
    src.destroy();
    throw generalError(`layer ${what}: bzip2-compressed layers are not supported`);
  }
  if (!decoder) {
    yield* raw();
    return;
  }
  const out = pipeline(Readable.from(raw(), { objectMode: false }), decoder, () => undefined);
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code?.startsWith('Z_')) throw generalError(`layer ${what}: corrupt compressed data (${(e as Error).message})`);
    throw e;
  }
}

/** Cleans a member name to a path relative to the layer root ('' for the root), or undefined when it climbs out. */
export function cleanMemberPath(name: string): string | undefined {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const ALLOWED_XATTR = /^(security\.|user\.|system\.posix_acl_(access|default)$)/;

interface Pending {
  pax: Map<string, Buffer>;
  longName?: string;
  longLink?: string;
}

class Unpacker {
  private readonly kinds = new Map<string, Kind>();
  private readonly dirMeta = new Map<string, { mode: number; uid: number; gid: number; mtime: number }>();
  private readonly hash = createHash('sha256');
  private readonly result: UnpackResult = { size: 0, diffId: '', entries: 0, opaqueDirs: [], whiteouts: [] };
  private state: 'header' | 'data' | 'pad' | 'ext' | 'trailer' = 'header';
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private zeroBlocks = 0;
  private pending: Pending = { pax: new Map() };
  /** The entry whose content or extended data is being read. */
  private remaining = 0;
  private pad = 0;
  private toDisk = false;
  private ext?: { type: string; chunks: Buffer[] };
  private entryName = '';
  private offset = 0;
  private nextFreeCheck = 0;
  private tarOut: Buffer[] = [];

  constructor(
    private readonly what: string,
    private readonly dir: string,
    private readonly limits: UnpackLimits,
    private readonly skeleton: SkeletonWriter,
  ) {}

  private refuse(why: string, entry = this.entryName): EngineError {
    return generalError(`layer ${this.what}: ${entry ? `entry ${JSON.stringify(entry)}: ` : ''}${why}`);
  }

  /** Consumes one chunk of the uncompressed tar; returns the bytes for GNU tar. */
  async feed(chunk: Buffer): Promise<Buffer[]> {
    this.hash.update(chunk);
    this.result.size += chunk.length;
    if (this.result.size > this.limits.maxBytes) {
      throw resourceExhausted(`layer ${this.what}: unpacks to more than ${this.limits.maxBytes} bytes (storage-opt overlay2.layer_max_size)`);
    }
    if (this.result.size >= this.nextFreeCheck) {
      this.nextFreeCheck = this.result.size + FREE_CHECK_EVERY;
      await this.checkFreeSpace();
    }
    this.tarOut = [];
    let off = 0;
    while (off < chunk.length) {
      const avail = chunk.length - off;
      switch (this.state) {
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, avail);
          chunk.copy(this.header, this.headerFill, off, off + n);
          this.headerFill += n;
          off += n;
          if (this.headerFill === BLOCK) {
            const block = this.header;
            this.header = Buffer.alloc(BLOCK);
            this.headerFill = 0;
            await this.onHeader(block);
            this.offset += BLOCK;
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, avail);
          const piece = chunk.subarray(off, off + n);
          if (this.toDisk) this.tarOut.push(piece);
          else await this.skeleton.raw(Buffer.from(piece));
          this.remaining -= n;
          off += n;
          this.offset += n;
          if (this.remaining === 0) this.endData();
          break;
        }
        case 'ext': {
          const n = Math.min(this.remaining, avail);
          const piece = Buffer.from(chunk.subarray(off, off + n));
          this.ext!.chunks.push(piece);
          await this.skeleton.raw(piece);
          this.remaining -= n;
          off += n;
          this.offset += n;
          if (this.remaining === 0) {
            this.onExtData();
            this.endData();
          }
          break;
        }
        case 'pad': {
          const n = Math.min(this.pad, avail);
          await this.skeleton.raw(Buffer.from(chunk.subarray(off, off + n)));
          if (this.toDisk) this.tarOut.push(Buffer.alloc(n));
          this.pad -= n;
          off += n;
          this.offset += n;
          if (this.pad === 0) this.state = 'header';
          break;
        }
        case 'trailer':
          // After the end blocks: kept for the exact tar, never unpacked.
          await this.skeleton.raw(Buffer.from(chunk.subarray(off)));
          off = chunk.length;
          break;
      }
    }
    return this.tarOut;
  }

  private async checkFreeSpace(): Promise<void> {
    const st = await fsp.statfs(this.dir);
    if (st.bavail * st.bsize < this.limits.minFreeSpace) {
      throw resourceExhausted(
        `layer ${this.what}: the store's filesystem has less than ${this.limits.minFreeSpace} bytes free (storage-opt overlay2.min_free_space)`,
      );
    }
  }

  private endData(): void {
    this.state = this.pad > 0 ? 'pad' : 'header';
  }

  private startData(size: number, toDisk: boolean): void {
    this.remaining = size;
    this.pad = paddingOf(size);
    this.toDisk = toDisk;
    this.state = size > 0 ? 'data' : this.pad > 0 ? 'pad' : 'header';
  }

  private async onHeader(block: Buffer): Promise<void> {
    await this.skeleton.raw(block);
    if (isZeroBlock(block)) {
      if (this.pending.longName !== undefined || this.pending.longLink !== undefined || this.pending.pax.size > 0) {
        throw this.refuse('an extended header with no entry after it');
      }
      if (++this.zeroBlocks === 2) {
        this.state = 'trailer';
        this.tarOut.push(Buffer.alloc(2 * BLOCK));
      }
      return;
    }
    if (this.zeroBlocks > 0) throw this.refuse(`a lone zero block at offset ${this.offset - BLOCK} (GNU tar would stop reading there)`);
    let raw: RawHeader;
    try {
      raw = parseHeader(block);
    } catch (e) {
      if (e instanceof TarFormatError) throw this.refuse(`${e.message} at offset ${this.offset}`, '');
      throw e;
    }
    this.entryName = raw.name;
    switch (raw.type) {
      case 'x':
      case 'g':
      case 'L':
      case 'K': {
        const max = raw.type === 'x' || raw.type === 'g' ? MAX_PAX : MAX_LONGNAME;
        if (raw.size > max) throw this.refuse(`an extended header of ${raw.size} bytes (the limit is ${max})`);
        this.ext = { type: raw.type, chunks: [] };
        this.remaining = raw.size;
        this.pad = paddingOf(raw.size);
        this.toDisk = false;
        this.state = 'ext';
        if (raw.size === 0) {
          this.onExtData();
          this.state = 'header';
        }
        return;
      }
    }
    await this.onEntry(raw);
  }

  private onExtData(): void {
    const { type, chunks } = this.ext!;
    const data = Buffer.concat(chunks);
    this.ext = undefined;
    try {
      if (type === 'L' || type === 'K') {
        const end = data.indexOf(0);
        const name = utf8(end < 0 ? data : data.subarray(0, end));
        if (type === 'L') this.pending.longName = name;
        else this.pending.longLink = name;
        return;
      }
      const records = parsePax(data);
      if (type === 'g') {
        // git archive writes a global comment; anything else would change every later entry.
        for (const key of records.keys()) if (key !== 'comment') throw this.refuse(`a global PAX header setting ${JSON.stringify(key)} is not supported`);
        return;
      }
      for (const [k, v] of records) this.pending.pax.set(k, v);
    } catch (e) {
      if (e instanceof TarFormatError) throw this.refuse(e.message);
      throw e;
    }
  }

  /** Applies PAX records and GNU long names to the header they precede. */
  private resolve(raw: RawHeader): RawHeader & { xattrs: Map<string, Buffer> } {
    const { pax, longName, longLink } = this.pending;
    this.pending = { pax: new Map() };
    const out = { ...raw, xattrs: new Map<string, Buffer>() };
    const paxNum = (key: string): number | undefined => {
      const v = pax.get(key);
      if (v === undefined) return undefined;
      const n = Number(v.toString('latin1'));
      if (!Number.isFinite(n) || n < 0) throw this.refuse(`PAX ${key} ${JSON.stringify(v.toString('latin1'))} is not a number`);
      return Math.floor(n);
    };
    out.name = pax.has('path') ? utf8(pax.get('path')!) : (longName ?? raw.name);
    out.linkname = pax.has('linkpath') ? utf8(pax.get('linkpath')!) : (longLink ?? raw.linkname);
    out.size = paxNum('size') ?? raw.size;
    out.uid = paxNum('uid') ?? raw.uid;
    out.gid = paxNum('gid') ?? raw.gid;
    out.mtime = paxNum('mtime') ?? raw.mtime;
    if (!Number.isSafeInteger(out.size)) throw this.refuse('a size too large');
    this.entryName = out.name;
    for (const [key, value] of pax) {
      if (key.startsWith('GNU.sparse.')) throw this.refuse('sparse files are not supported');
      if (key.startsWith('SCHILY.xattr.')) {
        const name = key.slice('SCHILY.xattr.'.length);
        if (!ALLOWED_XATTR.test(name))
          throw this.refuse(`the xattr ${JSON.stringify(name)} is not allowed in a layer (only security.*, user.* and POSIX ACLs)`);
        out.xattrs.set(name, value);
      }
    }
    return out;
  }

  private async onEntry(raw: RawHeader): Promise<void> {
    const h = this.resolve(raw);
    if (++this.result.entries > this.limits.maxEntries) throw this.refuse(`more than ${this.limits.maxEntries} entries in one layer`);
    let type = h.type;
    if (type === '\0' && h.name.endsWith('/')) type = '5';
    // Go's archive/tar, which wrote the diff_ids Docker gives, reads no data after these whatever the size says.
    const size = '123456'.includes(type) ? 0 : h.size;
    if (type === '0' && h.name.endsWith('/')) type = '5';
    const p = cleanMemberPath(h.name);
    if (p === undefined) throw this.refuse('the path leaves the layer');
    if (Buffer.byteLength(p) > MAX_PATH) throw this.refuse(`a path longer than ${MAX_PATH} bytes`);
    for (const part of p.split('/')) if (Buffer.byteLength(part) > MAX_NAME) throw this.refuse(`a name longer than ${MAX_NAME} bytes`);
    const meta = { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime, size: 0 };
    const emit = async (e: OutEntry, content: boolean): Promise<void> => {
      this.tarOut.push(...buildHeaders(e));
      if (content && size > 0) await this.skeleton.file(e.name, size);
      this.startData(size, content);
    };

    if (p === '') {
      if (type !== '5') throw this.refuse('the layer root is not a directory');
      this.dirMeta.set('', meta);
      return emit({ ...meta, name: './', type: '5', xattrs: h.xattrs }, false);
    }
    this.checkParents(p);
    const base = p.slice(p.lastIndexOf('/') + 1);
    const parent = parentOf(p);

    if (base === OPAQUE) {
      this.result.opaqueDirs.push(parent);
      const dm = this.dirMeta.get(parent) ?? { mode: 0o755, uid: 0, gid: 0, mtime: h.mtime };
      const xattrs = new Map([['trusted.overlay.opaque', Buffer.from('y')]]);
      return emit({ ...dm, size: 0, name: parent === '' ? './' : `${parent}/`, type: '5', xattrs }, false);
    }
    if (base.startsWith(`${WH}${WH}`)) return this.startData(size, false); // aufs metadata: meaningless here
    if (base.startsWith(WH)) {
      const target = parent === '' ? base.slice(WH.length) : `${parent}/${base.slice(WH.length)}`;
      const name = base.slice(WH.length);
      if (name === '' || name === '.' || name === '..') throw this.refuse('a whiteout with no name');
      this.claim(target, 'whiteout');
      this.result.whiteouts.push(target);
      return emit({ ...meta, name: target, type: '3', devmajor: 0, devminor: 0 }, false);
    }

    switch (type) {
      case '0':
      case '\0':
      case '7':
        this.claim(p, 'file');
        return emit({ ...meta, size, name: p, type: '0', xattrs: h.xattrs }, true);
      case '5':
        this.claim(p, 'dir');
        this.dirMeta.set(p, meta);
        return emit({ ...meta, name: `${p}/`, type: '5', xattrs: h.xattrs }, false);
      case '1': {
        const target = cleanMemberPath(h.linkname);
        if (target === undefined || target === '') throw this.refuse(`a hard link to ${JSON.stringify(h.linkname)}, outside the layer`);
        const k = this.kinds.get(target);
        if (k !== 'file' && k !== 'hardlink')
          throw this.refuse(`a hard link to ${JSON.stringify(h.linkname)}, which is not an earlier regular file of this layer`);
        this.claim(p, 'hardlink');
        return emit({ ...meta, name: p, type: '1', linkname: target }, false);
      }
      case '2':
        if (h.linkname === '') throw this.refuse('a symbolic link with no target');
        this.claim(p, 'symlink');
        return emit({ ...meta, name: p, type: '2', linkname: h.linkname, xattrs: h.xattrs }, false);
      case '3':
      case '4':
      case '6':
        this.claim(p, 'node');
        return emit({ ...meta, name: p, type, devmajor: h.devmajor, devminor: h.devminor, xattrs: h.xattrs }, false);
      default:
        throw this.refuse(`entry type ${JSON.stringify(type)} is not supported`);
    }
  }

  /** Every parent must be a directory of this layer, or not made yet (GNU tar makes it). */
  private checkParents(p: string): void {
    let i = p.indexOf('/');
    while (i >= 0) {
      const prefix = p.slice(0, i);
      const k = this.kinds.get(prefix);
      if (k === undefined) this.kinds.set(prefix, 'dir');
      else if (k === 'symlink') throw this.refuse(`written through the symbolic link ${JSON.stringify(prefix)} of the same layer`);
      else if (k !== 'dir') throw this.refuse(`its parent ${JSON.stringify(prefix)} is not a directory`);
      i = p.indexOf('/', i + 1);
    }
  }

  /** A path is written once; only a directory may appear again (its metadata set again). */
  private claim(p: string, kind: Kind): void {
    const was = this.kinds.get(p);
    if (was !== undefined && !(was === 'dir' && kind === 'dir')) throw this.refuse(`the path appears twice in the layer (${was}, then ${kind})`);
    this.kinds.set(p, kind);
  }

  /** After the last chunk: what GNU tar still needs, or why the tar is incomplete. */
  finish(): { tail: Buffer[]; result: UnpackResult } {
    const tail: Buffer[] = [];
    if (this.state !== 'trailer') {
      if (this.state !== 'header' || this.headerFill > 0 || this.pending.pax.size > 0 || this.pending.longName !== undefined) {
        throw this.refuse('the tar ends in the middle of an entry');
      }
      // No end blocks (some writers omit them): GNU tar still gets them.
      tail.push(Buffer.alloc(2 * BLOCK));
    }
    return { tail, result: { ...this.result, diffId: `sha256:${this.hash.digest('hex')}` } };
  }
}

// -b 128: GNU tar reads its stdin 64 KiB at a time (the pipe's size) rather than 10 KiB, so the
// daemon's writes into the pipe wait for a quarter of the wake-ups.
const TAR_ARGS = ['-x', '-f', '-', '-b', '128', '--numeric-owner', '--same-owner', '-p', '--xattrs', '--xattrs-include=*', '--no-unquote'];

function runTar(dir: string): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn('tar', [...TAR_ARGS, '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16384) stderr += d.toString();
  });
  // EPIPE when tar dies early is reported by its exit status instead.
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { child, exited };
}

async function tarFailed(what: string, exited: Promise<{ code: number | null; stderr: string }>): Promise<void> {
  const { code, stderr } = await exited;
  if (code !== 0) throw generalError(`layer ${what}: tar failed: ${stderr.trim().split('\n').slice(0, 3).join('; ') || `exit ${code}`}`);
}

async function writeAll(child: ChildProcess, pieces: Buffer[]): Promise<void> {
  if (pieces.length === 0) return;
  const stdin = child.stdin!;
  if (stdin.destroyed || child.exitCode !== null) return;
  if (!stdin.write(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces))) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }
}

/** What one layer's unpacking needs besides its bytes (plain data: it also goes to a worker thread). */
export interface UnpackJob {
  /** Names the layer in errors. */
  what: string;
  /** The config's diff_id; undefined: learnt (an import). */
  diffId?: string;
  /** The empty directory GNU tar writes into. */
  dir: string;
  /** The file the skeleton (skeleton.ts) is written to. */
  skeletonPath: string;
  limits: UnpackLimits;
  /** The source is the blob unchecked: its size and digest are checked here (a mismatch fails the unpacking). */
  blob?: { descriptor: Descriptor; what: string };
}

/**
 * Unpacks the (compressed or plain) layer `src` into the empty directory `dir` and its
 * skeleton into `skeletonPath`. Throws, with the layer and the entry named, at the first entry
 * refused, and when the uncompressed digest is not `diffId` (when given); the caller then
 * removes `dir` (tar has exited by then).
 */
export async function unpackLayer(opts: UnpackJob & { src: Readable; onBytes?: (compressedBytes: number) => void }): Promise<UnpackResult> {
  const skeleton = new SkeletonWriter(opts.skeletonPath);
  const u = new Unpacker(opts.what, opts.dir, opts.limits, skeleton);
  const tar = runTar(opts.dir);
  let src = opts.src;
  if (opts.blob) {
    const verify = new VerifyStream(opts.blob.descriptor, opts.blob.what);
    pipeline(opts.src, verify, () => undefined);
    src = verify;
  }
  try {
    for await (const chunk of decompressed(src, opts.what, opts.onBytes ?? (() => undefined))) {
      await writeAll(tar.child, await u.feed(chunk));
      // tar failed early: its own message says why. (After the end blocks it may exit 0 while the trailer still comes.)
      if (tar.child.exitCode !== null && tar.child.exitCode !== 0) break;
    }
    if (tar.child.exitCode !== null) await tarFailed(opts.what, tar.exited);
    const { tail, result } = u.finish();
    await writeAll(tar.child, tail);
    tar.child.stdin!.end();
    await tarFailed(opts.what, tar.exited);
    if (opts.diffId !== undefined && result.diffId !== opts.diffId) {
      throw generalError(`layer ${opts.what}: the uncompressed layer has digest ${result.diffId}, not the diff_id ${opts.diffId} of the image config`);
    }
    await skeleton.end();
    return result;
  } catch (e) {
    src.destroy();
    skeleton.destroy();
    tar.child.kill('SIGKILL');
    await tar.exited;
    throw e;
  }
}
