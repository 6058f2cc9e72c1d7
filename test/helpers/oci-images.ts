/**
 * Test images as OCI layouts, built with Debian's `umoci` from layer tarballs written here
 * (byte for byte, so device nodes, xattrs, whiteouts and hard links need no root tricks on
 * the host and the digests are the same on every run), and pushed to a test registry with
 * Debian's `skopeo`, a client independent of ours.
 *
 *   const reg = await startRegistry();
 *   await pushImage(busyboxImage(), reg, 'busybox:latest');
 *   await pushImage(multiArchImage(), reg, 'multi:1');    // an index: copied with --all
 *   await pushImage(bigImage(), reg, 'big:1');
 *
 * Layouts are built once per test process into os.tmpdir() and removed at its exit.
 *
 * busybox (`busyboxImage()`, layout tag `latest`; config linux/amd64, Cmd ["sh"],
 * Env PATH=/usr/sbin:/usr/bin:/sbin:/bin), three layers, bottom to top:
 *   1. base: dirs /bin /etc /root /tmp (1777) /proc /sys /dev /var /opaque-dir;
 *      /bin/busybox (Debian's static busybox, 0755) and symlinks /bin/<applet> → busybox for
 *      BUSYBOX_APPLETS; /etc/passwd (root, nobody), /etc/group; /deleted-file ("delete me\n");
 *      /opaque-dir/old-a, /opaque-dir/old-b.
 *   2. deletions: /.wh.deleted-file (whiteout of /deleted-file); /opaque-dir/ with the opaque
 *      marker /opaque-dir/.wh..wh..opq and a new file /opaque-dir/new-file ("new\n"), so the
 *      merged /opaque-dir holds only new-file.
 *   3. specials: /data/original (HARDLINK_CONTENT, 0644) and /hardlink, a hard link to it;
 *      /devnode, a character device 1:3 (like /dev/null), 0666; /bin/setuid-file (0o4755,
 *      uid 0, "#!/bin/sh\necho setuid\n"); /bin/cap-file (0755, "cap\n") with a
 *      `security.capability` xattr granting cap_net_bind_service (CAP_XATTR, VFS caps v2);
 *      /long/<LONG_NAME> (a 150-character name, so a PAX `path` record) with "long\n";
 *      /data/owned (uid 1000, gid 1000, "owned\n").
 *   Every entry has mtime 2024-01-01T00:00:00Z and uid/gid 0 unless said; the config says
 *   created 2024-01-01T00:00:00Z, so the manifest digest is the same on every run.
 *
 * multi (`multiArchImage()`, layout tag `1`): an OCI image index with two manifests over the
 * same three layers: linux/amd64 (the busybox image's manifest itself) and linux/arm64 v8 (a
 * config identical but for architecture/variant; the layers stay x86_64 binaries, which is
 * fine for tests on an x86_64 host that only check the pick).
 *
 * big (`bigImage()`, layout tag `1`): the busybox base layer plus BIG_LAYERS layers of
 * BIG_LAYER_BYTES random (incompressible) bytes each in /big/<i>.bin: about 100 MB.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestRegistry } from './registry.js';

export const BUSYBOX_BIN = '/bin/busybox';
export const BUSYBOX_APPLETS = [
  'sh',
  'ls',
  'cat',
  'echo',
  'sleep',
  'true',
  'false',
  'stat',
  'id',
  'env',
  'ps',
  'sha256sum',
  'head',
  'readlink',
  'getfattr',
  'find',
  'wc',
  'test',
  'mkdir',
  'rm',
];
export const HARDLINK_CONTENT = 'the same inode under two names\n';
export const LONG_NAME = `${'l'.repeat(140)}-long-name`;
/** security.capability, VFS_CAP_REVISION_2, effective, permitted = cap_net_bind_service (10). */
export const CAP_XATTR = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
export const BIG_LAYERS = 4;
export const BIG_LAYER_BYTES = 25 * 1024 * 1024;
const MTIME = Date.UTC(2024, 0, 1) / 1000;

/** One entry of a layer tarball. */
export interface TarEntry {
  /** Relative path, no leading slash; directories without the trailing one. */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  /** file content */
  data?: Buffer | string;
  /** symlink target or hard link's existing path */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX SCHILY.xattr.* records */
  xattrs?: Record<string, Buffer>;
  /** Extra PAX records, raw (hostile-layer tests can lie here). */
  pax?: Record<string, string>;
}

const TYPEFLAG: Record<TarEntry['type'], string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, typeflag: string, size: number, e: Partial<TarEntry>, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal((e.mode ?? 0o644) & 0o7777, 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(MTIME, 12), 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write(linkname.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(e.devmajor ?? 0, 8), 329);
  h.write(octal(e.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** A tarball (POSIX ustar with PAX records where needed), as layers are. */
export function tarball(entries: TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const name = e.type === 'dir' ? `${e.name}/` : e.name;
    const data = e.type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const records: Buffer[] = [];
    if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', Buffer.from(name)));
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) records.push(paxRecord('linkpath', Buffer.from(e.linkname)));
    for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
    for (const [k, v] of Object.entries(e.pax ?? {})) records.push(paxRecord(k, Buffer.from(v)));
    if (records.length > 0) {
      const pax = Buffer.concat(records);
      out.push(header('PaxHeaders/entry', 'x', pax.length, {}), pax, pad(pax.length));
    }
    const mode = e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644);
    out.push(header(name, TYPEFLAG[e.type], data.length, { ...e, mode }, e.linkname ?? ''), data, pad(data.length));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

export const baseLayer = (): TarEntry[] => [
  ...['bin', 'etc', 'root', 'proc', 'sys', 'dev', 'var', 'opaque-dir'].map((name): TarEntry => ({ name, type: 'dir' })),
  { name: 'tmp', type: 'dir', mode: 0o1777 },
  { name: 'bin/busybox', type: 'file', mode: 0o755, data: fs.readFileSync(BUSYBOX_BIN) },
  ...BUSYBOX_APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
  { name: 'etc/passwd', type: 'file', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' },
  { name: 'etc/group', type: 'file', data: 'root:x:0:\nnogroup:x:65534:\n' },
  { name: 'deleted-file', type: 'file', data: 'delete me\n' },
  { name: 'opaque-dir/old-a', type: 'file', data: 'a\n' },
  { name: 'opaque-dir/old-b', type: 'file', data: 'b\n' },
];

export const deletionLayer = (): TarEntry[] => [
  { name: '.wh.deleted-file', type: 'file' },
  { name: 'opaque-dir', type: 'dir' },
  { name: 'opaque-dir/.wh..wh..opq', type: 'file' },
  { name: 'opaque-dir/new-file', type: 'file', data: 'new\n' },
];

export const specialsLayer = (): TarEntry[] => [
  { name: 'data', type: 'dir' },
  { name: 'data/original', type: 'file', data: HARDLINK_CONTENT },
  { name: 'hardlink', type: 'hardlink', linkname: 'data/original' },
  { name: 'devnode', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
  { name: 'bin/setuid-file', type: 'file', mode: 0o4755, data: '#!/bin/sh\necho setuid\n' },
  { name: 'bin/cap-file', type: 'file', mode: 0o755, data: 'cap\n', xattrs: { 'security.capability': CAP_XATTR } },
  { name: 'long', type: 'dir' },
  { name: `long/${LONG_NAME}`, type: 'file', data: 'long\n' },
  { name: 'data/owned', type: 'file', uid: 1000, gid: 1000, data: 'owned\n' },
];

/** A built OCI layout and the tag in it; `ociRef` is what skopeo takes. */
export interface OciImage {
  layout: string;
  tag: string;
  ociRef: string;
  /** An index (copy with `--all`). */
  isIndex: boolean;
}

const cacheRoot = path.join(os.tmpdir(), `isulad-test-oci-${process.pid}`);
let cleanupArmed = false;
function cacheDir(name: string): string {
  if (!cleanupArmed) {
    cleanupArmed = true;
    process.once('exit', () => fs.rmSync(cacheRoot, { recursive: true, force: true }));
  }
  return path.join(cacheRoot, name);
}

const umoci = (args: string[]): void => {
  execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** A new layout `dir` with tag `tag` holding the given layers and a linux/amd64 config. */
function buildLayout(dir: string, tag: string, layers: { tar: Buffer | string; createdBy: string }[]): void {
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  umoci(['init', '--layout', tmp]);
  umoci(['new', '--image', `${tmp}:${tag}`]);
  for (const [i, layer] of layers.entries()) {
    const file = typeof layer.tar === 'string' ? layer.tar : path.join(cacheRoot, `layer-${process.pid}-${i}.tar`);
    if (typeof layer.tar !== 'string') fs.writeFileSync(file, layer.tar);
    umoci(['raw', 'add-layer', '--image', `${tmp}:${tag}`, '--history.created_by', layer.createdBy, '--history.created', '2024-01-01T00:00:00Z', file]);
    fs.rmSync(file, { force: true });
  }
  umoci([
    'config',
    '--image',
    `${tmp}:${tag}`,
    '--architecture',
    'amd64',
    '--os',
    'linux',
    '--config.cmd',
    'sh',
    '--config.env',
    'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    '--created',
    '2024-01-01T00:00:00Z',
    '--no-history',
  ]);
  fs.renameSync(tmp, dir);
}

function built(name: string, tag: string, build: (dir: string) => void, isIndex = false): OciImage {
  const layout = cacheDir(name);
  if (!fs.existsSync(layout)) {
    fs.mkdirSync(cacheRoot, { recursive: true });
    build(layout);
  }
  return { layout, tag, ociRef: `oci:${layout}:${tag}`, isIndex };
}

/** The multi-layer busybox image (see the file's comment). */
export function busyboxImage(): OciImage {
  return built('busybox', 'latest', (dir) =>
    buildLayout(dir, 'latest', [
      { tar: tarball(baseLayer()), createdBy: 'base: busybox and its applets' },
      { tar: tarball(deletionLayer()), createdBy: 'delete /deleted-file, opaque /opaque-dir' },
      { tar: tarball(specialsLayer()), createdBy: 'hard link, device node, setuid, capability xattr' },
    ]),
  );
}

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Record<string, string>;
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function readBlob(layout: string, digest: string): Buffer {
  return fs.readFileSync(path.join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

export function writeBlob(layout: string, data: Buffer): string {
  const digest = digestOf(data);
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), data);
  return digest;
}

/** The descriptor of `tag`'s manifest in a layout's index.json. */
export function layoutManifest(layout: string, tag: string): Desc {
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Desc[] };
  const d = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new Error(`no tag ${tag} in ${layout}`);
  return d;
}

/** The amd64 + arm64/v8 index (see the file's comment). */
export function multiArchImage(): OciImage {
  const bb = busyboxImage();
  return built(
    'multi',
    '1',
    (dir) => {
      const tmp = `${dir}.tmp`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.cpSync(bb.layout, tmp, { recursive: true });
      const amd = layoutManifest(tmp, 'latest');
      const manifest = JSON.parse(readBlob(tmp, amd.digest).toString()) as { config: Desc; layers: Desc[] };
      const config = JSON.parse(readBlob(tmp, manifest.config.digest).toString()) as Record<string, unknown>;
      const armConfig = Buffer.from(JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' }));
      const armConfigDigest = writeBlob(tmp, armConfig);
      const armManifest = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: armConfigDigest, size: armConfig.length } }));
      const armDigest = writeBlob(tmp, armManifest);
      const mt = 'application/vnd.oci.image.manifest.v1+json';
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            { mediaType: mt, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
            { mediaType: mt, digest: armDigest, size: armManifest.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
          ],
        }),
      );
      const indexDigest = writeBlob(tmp, index);
      const top = {
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: indexDigest,
            size: index.length,
            annotations: { 'org.opencontainers.image.ref.name': '1' },
          },
        ],
      };
      fs.writeFileSync(path.join(tmp, 'index.json'), JSON.stringify(top));
      fs.renameSync(tmp, dir);
    },
    true,
  );
}

/** The ~100 MB image of incompressible layers (see the file's comment). */
export function bigImage(): OciImage {
  return built('big', '1', (dir) => {
    const layers: { tar: string; createdBy: string }[] = [];
    fs.mkdirSync(cacheRoot, { recursive: true });
    const base = path.join(cacheRoot, 'big-base.tar');
    fs.writeFileSync(base, tarball(baseLayer()));
    layers.push({ tar: base, createdBy: 'base' });
    for (let i = 0; i < BIG_LAYERS; i++) {
      const file = path.join(cacheRoot, `big-${i}.tar`);
      const fd = fs.openSync(file, 'w');
      const head = tarball([{ name: 'big', type: 'dir' }]).subarray(0, 512);
      fs.writeSync(fd, head);
      fs.writeSync(fd, header(`big/${i}.bin`, '0', BIG_LAYER_BYTES, { mode: 0o644 }));
      for (let done = 0; done < BIG_LAYER_BYTES; done += 1 << 20) fs.writeSync(fd, randomBytes(Math.min(1 << 20, BIG_LAYER_BYTES - done)));
      fs.writeSync(fd, Buffer.concat([pad(BIG_LAYER_BYTES), Buffer.alloc(1024)]));
      fs.closeSync(fd);
      layers.push({ tar: file, createdBy: `random data ${i}` });
    }
    buildLayout(dir, '1', layers);
  });
}

/**
 * Pushes a built image to the registry as `nameTag` (e.g. `busybox:latest`) with skopeo. The
 * manifests stay OCI unless `format` is `v2s2` (Docker schema 2 and manifest list) or `v2s1` (schema 1, signed by skopeo; the registry needs `schema1: true`).
 */
export function pushImage(img: OciImage, reg: TestRegistry, nameTag: string, format: 'oci' | 'v2s2' | 'v2s1' = 'oci'): void {
  const args = [
    'copy',
    '--quiet',
    '--format',
    format,
    ...(img.isIndex ? ['--all'] : []),
    ...reg.skopeoArgs('dest'),
    img.ociRef,
    `docker://${reg.host}/${nameTag}`,
  ];
  execFileSync('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `skopeo inspect --raw` of a reference in the registry: the manifest as stored there. */
export function registryManifest(reg: TestRegistry, nameRef: string): Buffer {
  return execFileSync('skopeo', ['inspect', '--raw', ...reg.skopeoArgs('inspect'), `docker://${reg.host}/${nameRef}`]);
}
