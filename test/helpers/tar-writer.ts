/**
 * A small tar writer for tests: any name, type, link target and PAX record, including the
 * hostile ones GNU tar refuses to write (names with '..', links out of the archive).
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

export interface TarEntry {
  name: string;
  /** '0' file (default), '1' hard link, '2' symlink, '3' char device, '5' directory... */
  type?: string;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records written in an 'x' header before the entry. */
  pax?: Record<string, string | Buffer>;
}

function octal(block: Buffer, off: number, len: number, v: number): void {
  block.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, 'latin1');
}

function header(name: string, type: string, size: number, e: TarEntry): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, e.mode ?? (type === '5' ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, 1700000000);
  b.write(type, 156, 'latin1');
  b.write(e.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 'latin1');
  octal(b, 329, 8, e.devmajor ?? 0);
  octal(b, 337, 8, e.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

function paxData(records: Record<string, string | Buffer>): Buffer {
  const out: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    out.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(out);
}

/** The tar bytes, ending with the two zero blocks. */
export function makeTar(entries: TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? '0';
    if (e.pax) {
      const data = paxData(e.pax);
      out.push(header('PaxHeader', 'x', data.length, { name: 'PaxHeader' }), data, pad(data.length));
    }
    const content = Buffer.from(e.content ?? '');
    out.push(header(e.name, type, content.length, e), content, pad(content.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const gzip = (b: Buffer): Buffer => zlib.gzipSync(b);
