/**
 * The OCI layer and image store, driven in-process against real tar files (GNU tar's and
 * hand-made hostile ones), real overlay mounts and the vfs copy. Needs root.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import type { EngineError } from '../../src/api/errors.js';
import { parseStorageOpts } from '../../src/image/oci/storage/options.js';
import { RecordLog } from '../../src/image/oci/storage/record-log.js';
import { chainIds, type ImageRecord, OciStore } from '../../src/image/oci/storage/store.js';
import type { ImageConfigFile, ImageSource, LayerSource } from '../../src/image/oci/types.js';
import { silentLogger } from '../../src/sys/log.js';
import { isMountPoint } from '../../src/sys/mount.js';
import { gzip, makeTar, sha256, type TarEntry } from '../helpers/tar-writer.js';

const isRoot = process.getuid?.() === 0;
const hasOverlay = fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay');
const hasUmoci = fs.existsSync('/usr/bin/umoci');
const BUSYBOX = '/bin/busybox';
const hasSetcap = fs.existsSync('/usr/sbin/setcap') || fs.existsSync('/sbin/setcap');

let tmp = '';
let canary = '';
let canaryDir = '';
before(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-oci-store-')));
  canaryDir = path.join(tmp, 'outside');
  fs.mkdirSync(canaryDir);
  canary = path.join(canaryDir, 'canary');
  fs.writeFileSync(canary, 'untouched');
});
after(() => {
  // Mounts first: rm must never walk into a mounted rootfs.
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(tmp)) execFileSync('umount', ['-l', mp]);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
const newGraph = (): string => path.join(tmp, `graph${++seq}`);

/** A layer source over `tar` (gzipped unless told), counting opens; `failAfter` errors the stream midway. */
function layer(tar: Buffer, opts: { plain?: boolean; failAfter?: number; diffId?: string } = {}): LayerSource & { opens: number } {
  const blob = opts.plain ? tar : gzip(tar);
  const src = {
    opens: 0,
    descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(blob), size: blob.length },
    diffId: opts.diffId ?? sha256(tar),
    async open(): Promise<Readable> {
      src.opens++;
      const chunks: Buffer[] = [];
      for (let i = 0; i < blob.length; i += 4096) chunks.push(blob.subarray(i, i + 4096));
      if (opts.failAfter === undefined) return Readable.from(chunks);
      const keep = chunks.slice(0, Math.ceil(opts.failAfter / 4096));
      return Readable.from(
        (async function* () {
          yield* keep;
          throw new Error('connection reset by peer');
        })(),
      );
    },
  };
  return src;
}

function imageOf(layers: LayerSource[], salt = ''): ImageSource {
  const config: ImageConfigFile = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['sh'], Env: [`SALT=${salt}`] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = { schemaVersion: 2, config: { digest: sha256(configBytes) }, layers: layers.map((l) => l.descriptor) };
  return { configBytes, config, layers, manifestBytes: Buffer.from(JSON.stringify(manifest)), manifestMediaType: 'application/vnd.oci.image.manifest.v1+json' };
}

async function putAll(store: OciStore, layers: LayerSource[]): Promise<string> {
  let parent: string | undefined;
  for (const l of layers) parent = (await store.putLayer(parent, l)).id;
  return parent!;
}

async function streamSha(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return sha256(Buffer.concat(chunks));
}

const open = (graph: string, driver: 'overlay2' | 'vfs' = 'overlay2', extra: { storageOpts?: string[]; maxEntries?: number } = {}): Promise<OciStore> =>
  OciStore.open({ graph, driver, storageOpts: extra.storageOpts ?? [], log: silentLogger, maxEntries: extra.maxEntries });

const CONTAINER = 'c'.repeat(64);

/** The container layer records the store's log holds, read as the store reads it. */
/** A new store on a new graph holding one image `name` of one layer with the file `file` (`content`). */
async function storeWithImage(name: string, file: string, content: string): Promise<{ graph: string; store: OciStore; img: ImageRecord }> {
  const graph = newGraph();
  const store = await open(graph);
  const l = layer(makeTar([{ name: file, content }]));
  await putAll(store, [l]);
  return { graph, store, img: await store.addImage(imageOf([l]), [name], []) };
}

const containerLog = (graph: string): Map<string, { id: string; imageId: string }> =>
  RecordLog.read(path.join(graph, 'storage/overlay-containers/containers.log'), 1 << 30, (v) => v as { id: string; imageId: string }).records;
const LONG = `long/${'d'.repeat(150)}/${'f'.repeat(200)}`;

/** The base layer, written by GNU tar (POSIX format unless told) from a real tree. */
function baseLayerTar(format = 'posix'): Buffer {
  const dir = path.join(tmp, `base${++seq}`);
  fs.mkdirSync(path.join(dir, 'opq'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'deleted-file'), 'gone soon');
  fs.writeFileSync(path.join(dir, 'keep-file'), 'kept');
  fs.writeFileSync(path.join(dir, 'opq/old1'), 'old');
  fs.writeFileSync(path.join(dir, 'data'), 'linked data');
  fs.linkSync(path.join(dir, 'data'), path.join(dir, 'hardlink'));
  fs.writeFileSync(path.join(dir, 'suid'), '#!/bin/sh\n');
  // chown clears the setuid bit: owner first.
  fs.chownSync(path.join(dir, 'suid'), 1234, 5678);
  fs.chmodSync(path.join(dir, 'suid'), 0o4755);
  fs.writeFileSync(path.join(dir, 'capfile'), 'cap');
  if (hasSetcap) execFileSync('setcap', ['cap_net_raw+ep', path.join(dir, 'capfile')]);
  fs.mkdirSync(path.join(dir, 'dev'));
  execFileSync('mknod', [path.join(dir, 'dev/null'), 'c', '1', '3']);
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  fs.symlinkSync('/etc/passwd', path.join(dir, 'abs'));
  fs.mkdirSync(path.join(dir, path.dirname(LONG)), { recursive: true });
  fs.writeFileSync(path.join(dir, LONG), 'long name');
  return execFileSync('tar', [`--format=${format}`, '--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', dir, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
}

/** The second layer, as Docker writes deletions: a whiteout and an opaque directory. */
const whiteoutTar = (): Buffer =>
  makeTar([{ name: '.wh.deleted-file' }, { name: 'opq/', type: '5', mode: 0o750 }, { name: 'opq/.wh..wh..opq' }, { name: 'opq/new', content: 'new' }]);

function checkRoot(root: string, diffOfBase: string | undefined, opq = ['new']): void {
  assert.equal(fs.existsSync(path.join(root, 'deleted-file')), false, 'whited-out file is gone');
  assert.equal(fs.readFileSync(path.join(root, 'keep-file'), 'utf8'), 'kept');
  assert.deepEqual(fs.readdirSync(path.join(root, 'opq')).sort(), opq, 'opaque directory hides the lower one');
  assert.equal(fs.readFileSync(path.join(root, 'hardlink'), 'utf8'), 'linked data');
  if (diffOfBase) assert.equal(fs.statSync(path.join(diffOfBase, 'hardlink')).ino, fs.statSync(path.join(diffOfBase, 'data')).ino);
  const suid = fs.statSync(path.join(root, 'suid'));
  assert.equal(suid.mode & 0o7777, 0o4755);
  assert.equal(suid.uid, 1234);
  assert.equal(suid.gid, 5678);
  const dev = fs.lstatSync(path.join(root, 'dev/null'));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, (1 << 8) | 3);
  assert.ok(fs.lstatSync(path.join(root, 'fifo')).isFIFO());
  assert.equal(fs.readlinkSync(path.join(root, 'abs')), '/etc/passwd');
  assert.equal(fs.readFileSync(path.join(root, LONG), 'utf8'), 'long name');
  if (hasSetcap) assert.match(execFileSync('getcap', [path.join(root, 'capfile')]).toString(), /cap_net_raw[=+]ep/);
}

describe('OCI store: layers, images and container layers', { skip: !isRoot && 'needs root (device nodes, ownership, mounts)' }, () => {
  it('unpacks whiteouts, opaque dirs, hard links, devices, setuid, capabilities and long names; overlay shows the merge', {
    skip: !hasOverlay && 'no overlay',
  }, async () => {
    const graph = newGraph();
    const store = await open(graph);
    const layers = [layer(baseLayerTar()), layer(whiteoutTar())];
    await putAll(store, layers);
    const img = await store.addImage(imageOf(layers), ['127.0.0.1:5000/busybox:latest'], [`127.0.0.1:5000/busybox@sha256:${'a'.repeat(64)}`]);
    await store.createContainerLayer(CONTAINER, img.id);
    const root = await store.mount(CONTAINER);
    assert.ok(isMountPoint(root));
    const baseDiff = path.join(graph, 'storage/overlay', chainIds([layers[0]!.diffId])[0]!.slice(7), 'diff');
    checkRoot(root, baseDiff);
    // The container writes to its upper layer only.
    fs.writeFileSync(path.join(root, 'keep-file'), 'changed');
    assert.equal(fs.readFileSync(path.join(baseDiff, 'keep-file'), 'utf8'), 'kept');
    await store.unmount(CONTAINER);
    assert.equal(isMountPoint(root), false);
    // Mounting again finds the container's change.
    assert.equal(fs.readFileSync(path.join(await store.mount(CONTAINER), 'keep-file'), 'utf8'), 'changed');
    await store.removeContainerLayer(CONTAINER);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', CONTAINER)), false);
    assert.equal(fs.readFileSync(canary, 'utf8'), 'untouched');
  });

  it('an image written by umoci (Go archive/tar): busybox runs in the overlay root, deletions hold, tars rebuild', {
    skip: (!hasUmoci || !hasOverlay) && 'needs umoci and overlay',
  }, async () => {
    const dir = path.join(tmp, `umoci${++seq}`);
    fs.mkdirSync(dir);
    const run = (...args: string[]): void => void execFileSync('umoci', args, { cwd: dir, stdio: 'ignore' });
    run('init', '--layout', 'img');
    run('new', '--image', 'img:t');
    run('unpack', '--image', 'img:t', 'b');
    const rootfs = path.join(dir, 'b/rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'));
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(rootfs, 'bin/sh'));
    fs.linkSync(path.join(rootfs, 'bin/busybox'), path.join(rootfs, 'bin/ls'));
    fs.writeFileSync(path.join(rootfs, 'etc/deleted-file'), 'x');
    run('repack', '--image', 'img:t', 'b');
    fs.rmSync(path.join(rootfs, 'etc/deleted-file'));
    fs.writeFileSync(path.join(rootfs, 'etc/added'), 'y');
    run('repack', '--image', 'img:t', 'b');
    const blob = (digest: string): Buffer => fs.readFileSync(path.join(dir, 'img/blobs/sha256', digest.slice(7)));
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'img/index.json'), 'utf8'));
    const manifestBytes = blob(index.manifests[0].digest);
    const manifest = JSON.parse(manifestBytes.toString());
    const configBytes = blob(manifest.config.digest);
    const config = JSON.parse(configBytes.toString()) as ImageConfigFile;
    const layers: LayerSource[] = manifest.layers.map((d: { digest: string; size: number; mediaType: string }, i: number) => ({
      descriptor: d,
      diffId: config.rootfs.diff_ids[i]!,
      open: async () => Readable.from([blob(d.digest)]),
    }));
    const store = await open(newGraph());
    await putAll(store, layers);
    const img = await store.addImage({ configBytes, config, layers, manifestBytes, manifestMediaType: manifest.mediaType }, ['umoci:t'], []);
    for (const l of img.layers) assert.equal(await streamSha(store.layerTar(l)), store.layerRecord(l)!.diffId);
    await store.createContainerLayer(CONTAINER, img.id);
    const root = await store.mount(CONTAINER);
    assert.equal(execFileSync('chroot', [root, '/bin/sh', '-c', 'ls /etc; echo ok']).toString(), 'added\nok\n');
    await store.removeContainerLayer(CONTAINER);
  });

  it('sets a capability written by hand as a PAX SCHILY.xattr record', { skip: !hasSetcap && 'needs getcap' }, async () => {
    // struct vfs_cap_data, revision 2, effective: CAP_NET_RAW (13) permitted.
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE(1 << 13, 4);
    const graph = newGraph();
    const store = await open(graph);
    const l = layer(makeTar([{ name: 'ping', content: 'p', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': cap } }]));
    await store.putLayer(undefined, l);
    const file = path.join(graph, 'storage/overlay', l.diffId.slice(7), 'diff/ping');
    assert.match(execFileSync('getcap', [file]).toString(), /cap_net_raw[=+]ep/);
    assert.equal(await streamSha(store.layerTar(l.diffId)), l.diffId);
  });

  it('gives back each layer tar byte for byte (sha256 = diff_id)', async () => {
    const store = await open(newGraph());
    const tars = [
      baseLayerTar(),
      whiteoutTar(),
      makeTar([
        { name: 'trail', content: 'x' },
        { name: 'x', type: '5' },
      ]),
      baseLayerTar('gnu'),
    ];
    // Trailing zeros past the end blocks, as some writers pad to a record size, are kept too.
    tars[2] = Buffer.concat([tars[2]!, Buffer.alloc(10240)]);
    const layers = tars.map((t, i) => layer(t, { plain: i === 1 }));
    const top = await putAll(store, layers);
    const ids = chainIds(layers.map((l) => l.diffId));
    assert.equal(top, ids[3]);
    for (let i = 0; i < ids.length; i++) assert.equal(await streamSha(store.layerTar(ids[i]!)), layers[i]!.diffId);
  });

  it('vfs: a full copy per container with the same view', async () => {
    const graph = newGraph();
    const store = await open(graph, 'vfs');
    const layers = [
      layer(baseLayerTar()),
      layer(whiteoutTar()),
      layer(
        makeTar([
          { name: 'opq/', type: '5' },
          { name: 'opq/third', content: '3' },
        ]),
      ),
    ];
    await putAll(store, layers);
    const img = await store.addImage(imageOf(layers), ['vfs:1'], []);
    await store.createContainerLayer(CONTAINER, img.id);
    const root = await store.mount(CONTAINER);
    assert.equal(root, path.join(graph, 'storage/vfs', CONTAINER, 'rootfs'));
    assert.equal(isMountPoint(root), false);
    assert.equal(fs.existsSync(path.join(root, 'deleted-file')), false);
    checkRoot(root, undefined, ['new', 'third']);
    assert.equal(fs.statSync(path.join(root, 'hardlink')).ino, fs.statSync(path.join(root, 'data')).ino);
    await store.removeContainerLayer(CONTAINER);
  });

  it('mounts an image of 130 layers through short links', { skip: !hasOverlay && 'no overlay' }, async () => {
    const store = await open(newGraph());
    const layers = Array.from({ length: 130 }, (_, i) => layer(makeTar([{ name: `f${i}`, content: String(i) }]), { plain: true }));
    await putAll(store, layers);
    const img = await store.addImage(imageOf(layers), ['many:130'], []);
    await store.createContainerLayer(CONTAINER, img.id);
    const root = await store.mount(CONTAINER);
    assert.equal(fs.readFileSync(path.join(root, 'f0'), 'utf8'), '0');
    assert.equal(fs.readFileSync(path.join(root, 'f129'), 'utf8'), '129');
    await store.removeContainerLayer(CONTAINER);
  });

  it('unpacks the layers of one image concurrently, each committed after its parent', async () => {
    const store = await open(newGraph());
    const layers = [0, 1, 2].map((i) => layer(makeTar([{ name: `l${i}`, content: Buffer.alloc(200000 * (3 - i), i) }])));
    const ids = chainIds(layers.map((l) => l.diffId));
    let parent: string | undefined;
    const puts = layers.map((l, i) => {
      const p = store.putLayer(parent, l);
      parent = ids[i];
      return p;
    });
    assert.deepEqual(
      (await Promise.all(puts)).map((r) => r.id),
      ids,
    );
    // A child of a parent that fails fails too, and keeps nothing.
    const bad = layer(makeTar([{ name: 'x', content: 'x' }]), { diffId: sha256('wrong') });
    const child = layer(makeTar([{ name: 'y', content: 'y' }]));
    const [badPut, childPut] = [store.putLayer(undefined, bad), store.putLayer(bad.diffId, child)];
    await assert.rejects(badPut, /not the diff_id/);
    await assert.rejects(childPut, /its parent layer .* failed/);
    await assert.rejects(store.putLayer(sha256('nothing'), child), /parent layer .* is not in the store/);
  });

  it('imports a tarball whose diff_id is learnt while unpacking; the same tar twice at once is one layer', async () => {
    const graph = newGraph();
    const store = await open(graph);
    const tar = makeTar([{ name: 'rootfs-file', content: 'r' }]);
    const src = (): Promise<Readable> => Promise.resolve(Readable.from([gzip(tar)]));
    const [a, b] = await Promise.all([store.importLayer(src, 'web.tar'), store.importLayer(src, 'web.tar')]);
    assert.equal(a.id, sha256(tar));
    assert.deepEqual(a, b);
    assert.equal(a.compressedDigest, sha256(tar), 'its blob is the plain tar');
    assert.equal(await streamSha(store.layerTar(a.id)), a.diffId);
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/tmp')), []);
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/overlay/l')), [a.link]);
  });

  it('shares one unpack between two concurrent puts of the same layer', async () => {
    const store = await open(newGraph());
    const l = layer(makeTar([{ name: 'a', content: 'a' }]));
    const [a, b] = await Promise.all([store.putLayer(undefined, l), store.putLayer(undefined, l)]);
    assert.equal(a, b);
    assert.equal(l.opens, 1);
    const progress: string[] = [];
    await store.putLayer(undefined, l, (p) => progress.push(p.status));
    assert.deepEqual(progress, ['Already exists']);
    assert.equal(l.opens, 1);
  });

  it('names, tags, digests and removal; layers go with the last image that needs them', async () => {
    const graph = newGraph();
    const store = await open(graph);
    const shared = layer(makeTar([{ name: 'shared', content: 's' }]));
    const own = layer(makeTar([{ name: 'own', content: 'o' }]));
    await putAll(store, [shared]);
    await putAll(store, [shared, own]);
    const a = await store.addImage(imageOf([shared], 'a'), ['r/a:1'], [`r/a@sha256:${'1'.repeat(64)}`]);
    const b = await store.addImage(imageOf([shared, own], 'b'), ['r/b:1'], []);
    assert.equal(store.getImage('r/a:1')?.id, a.id);
    assert.equal(store.getImage(`sha256:${a.id}`)?.id, a.id);
    assert.equal(store.getImage(`r/a@sha256:${'1'.repeat(64)}`)?.id, a.id);
    assert.equal(store.getImage(b.id.slice(0, 12))?.id, b.id);
    assert.equal(store.getImage('nope:1'), undefined);
    // A tag moves from one image to the other.
    await store.tag(a.id, 'r/b:1');
    assert.deepEqual(store.getImage(b.id)?.names, []);
    assert.deepEqual(store.getImage(a.id)?.names.sort(), ['r/a:1', 'r/b:1']);
    await store.untag('r/b:1');
    assert.deepEqual(store.getImage(a.id)?.names, ['r/a:1']);
    // Adding the same config again merges names.
    await store.addImage(imageOf([shared], 'a'), ['r/a:2'], []);
    assert.deepEqual(store.getImage(a.id)?.names, ['r/a:1', 'r/a:2']);
    assert.deepEqual(JSON.parse((await store.imageConfig(a.id)).toString()).config.Env, ['SALT=a']);
    // In use by a container: refused with iSulad's exit code 2.
    await store.createContainerLayer(CONTAINER, b.id);
    await assert.rejects(store.removeImage(b.id), (e: EngineError) => e.exitCode === 2);
    await store.removeContainerLayer(CONTAINER);
    await store.removeImage(b.id);
    const [sharedId, ownId] = chainIds([shared.diffId, own.diffId]);
    assert.equal(store.hasLayer(ownId!), false, 'the layer only b used is gone');
    assert.equal(store.hasLayer(sharedId!), true, 'the layer a still uses stays');
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', ownId!.slice(7))), false);
    // Reopened, the store reads the same.
    const again = await open(graph);
    assert.deepEqual(again.getImage('r/a:1')?.names, ['r/a:1', 'r/a:2']);
    assert.equal(await streamSha(again.layerTar(sharedId!)), shared.diffId);
  });

  it('a crash leaves half-made work that the next open removes, and never a layer an image uses', async () => {
    const graph = newGraph();
    const store = await open(graph);
    const kept = layer(makeTar([{ name: 'kept', content: 'k' }]));
    await putAll(store, [kept]);
    const img = await store.addImage(imageOf([kept]), ['kept:1'], []);
    // What SIGKILL leaves: a half-unpacked tmp dir, a layer committed but never named by an
    // image, a layer directory its index write never named, an image dir with no record.
    fs.mkdirSync(path.join(graph, 'storage/tmp/layer-half/diff'), { recursive: true });
    fs.writeFileSync(path.join(graph, 'storage/tmp/layer-half/diff/x'), 'half');
    const orphan = layer(makeTar([{ name: 'orphan', content: 'o' }]));
    await store.putLayer(undefined, orphan);
    fs.mkdirSync(path.join(graph, 'storage/overlay', 'e'.repeat(64), 'diff'), { recursive: true });
    fs.mkdirSync(path.join(graph, 'storage/overlay-images', 'f'.repeat(64)));
    fs.writeFileSync(path.join(graph, 'storage/overlay-layers/.layers.json.999.tmp'), '{"torn');
    const again = await open(graph);
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/tmp')), []);
    assert.equal(again.hasLayer(orphan.diffId), false);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', orphan.diffId.slice(7))), false);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', 'e'.repeat(64))), false);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay-images', 'f'.repeat(64))), false);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay-layers/.layers.json.999.tmp')), false);
    assert.equal(again.getImage('kept:1')?.id, img.id);
    assert.equal(await streamSha(again.layerTar(kept.diffId)), kept.diffId);
    // Container layers whose container is gone go when the daemon says so.
    await again.createContainerLayer(CONTAINER, img.id);
    await again.sweep([]);
    assert.equal(again.containerLayer(CONTAINER), undefined);
  });

  it('SIGKILL at any moment of put, add, tag and remove leaves a store that opens, with every named layer whole', async () => {
    const graph = newGraph();
    const work = path.join(tmp, `crash${++seq}`);
    fs.mkdirSync(work);
    // Three images of two layers (one shared), each layer ~2 MB of incompressible data.
    const tars = [0, 1, 2, 3].map((i) =>
      makeTar([
        { name: `f${i}`, content: randomBytes(2 << 20) },
        { name: `d${i}/`, type: '5' },
      ]),
    );
    for (const [i, t] of tars.entries()) fs.writeFileSync(path.join(work, `${i}.tar`), t);
    // Beside this compiled test: out/test/integration → out/src.
    const storeModule = new URL('../../src/image/oci/storage/store.js', import.meta.url).href;
    const logModule = new URL('../../src/sys/log.js', import.meta.url).href;
    // The child loops until killed: put, add, tag, remove, again.
    const script = `
      import fs from 'node:fs'; import { createHash } from 'node:crypto'; import { Readable } from 'node:stream';
      const { OciStore } = await import(${JSON.stringify(storeModule)});
      const { silentLogger } = await import(${JSON.stringify(logModule)});
      const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
      const store = await OciStore.open({ graph: ${JSON.stringify(graph)}, driver: 'overlay2', storageOpts: [], log: silentLogger });
      const tars = [0, 1, 2, 3].map((i) => fs.readFileSync(${JSON.stringify(work)} + '/' + i + '.tar'));
      const src = (t) => ({ descriptor: { mediaType: 'x', digest: sha(t), size: t.length }, diffId: sha(t), open: async () => Readable.from([t]) });
      process.send('ready');
      for (let n = 0; ; n++) {
        for (const [a, b] of [[0, 1], [0, 2], [3, 1]]) {
          const l0 = await store.putLayer(undefined, src(tars[a]));
          await store.putLayer(l0.id, src(tars[b]));
          const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(tars[a]), sha(tars[b])] } }));
          const img = await store.addImage({ configBytes: config, config: JSON.parse(config), layers: [src(tars[a]), src(tars[b])], manifestBytes: Buffer.from('{}'), manifestMediaType: 'x' }, ['r/' + a + b + ':1'], []);
          await store.tag(img.id, 'moving:' + (n % 2));
          if ((n + a) % 2) await store.removeImage(img.id);
        }
      }`;
    let seen = 0;
    for (const delay of [30, 90, 160, 250, 400, 600]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const store = await open(graph);
      assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/tmp')), [], `after a kill at ${delay} ms`);
      for (const img of store.listImages()) {
        for (const l of img.layers) assert.equal(await streamSha(store.layerTar(l)), store.layerRecord(l)!.diffId, `after a kill at ${delay} ms`);
      }
      const names = store.listImages().flatMap((i) => i.names);
      assert.equal(new Set(names).size, names.length, 'a name is on one image only');
      seen += store.listImages().length;
    }
    assert.ok(seen > 0, 'the killed child had added images');
  });

  it('SIGKILL at any moment of container layer create and remove: a whole record names a whole layer, open sweeps the rest', async () => {
    const graph = newGraph();
    const storeModule = new URL('../../src/image/oci/storage/store.js', import.meta.url).href;
    const logModule = new URL('../../src/sys/log.js', import.meta.url).href;
    const tar = makeTar([{ name: 'f', content: 'x' }]);
    const work = path.join(tmp, `crash${++seq}`);
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'l.tar'), tar);
    // The child makes container layers (every other one removed again) until killed.
    const script = `
      import fs from 'node:fs'; import { createHash, randomBytes } from 'node:crypto'; import { Readable } from 'node:stream';
      const { OciStore } = await import(${JSON.stringify(storeModule)});
      const { silentLogger } = await import(${JSON.stringify(logModule)});
      const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
      const store = await OciStore.open({ graph: ${JSON.stringify(graph)}, driver: 'overlay2', storageOpts: [], log: silentLogger });
      const t = fs.readFileSync(${JSON.stringify(path.join(work, 'l.tar'))});
      const src = { descriptor: { mediaType: 'x', digest: sha(t), size: t.length }, diffId: sha(t), open: async () => Readable.from([t]) };
      await store.putLayer(undefined, src);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(t)] } }));
      const img = await store.addImage({ configBytes: config, config: JSON.parse(config), layers: [src], manifestBytes: Buffer.from('{}'), manifestMediaType: 'x' }, ['c:1'], []);
      process.send('ready');
      for (let n = 0; ; n++) {
        const ids = [0, 1, 2, 3].map(() => randomBytes(32).toString('hex'));
        await Promise.all(ids.map((id) => store.createContainerLayer(id, img.id)));
        for (const id of ids.filter((_, i) => (n + i) % 2)) await store.removeContainerLayer(id);
      }`;
    const overlay = path.join(graph, 'storage/overlay');
    /** Container layers the log holds (the commit point), before any open repairs the store. */
    const recorded = (): string[] => [...containerLog(graph).keys()];
    let seen = 0;
    for (const delay of [20, 60, 120, 200, 320]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // Before any open repairs it: every layer with a whole record is there, whole.
      const named = recorded();
      for (const id of named) assert.ok(fs.statSync(path.join(overlay, id)).isDirectory(), `after a kill at ${delay} ms: ${id}`);
      seen += named.length;
      const store = await open(graph);
      for (const id of named) assert.ok(store.containerLayer(id), `after a kill at ${delay} ms: ${id} kept`);
      // Its diff, work and merged come with the first mount.
      if (named[0]) {
        const root = await store.mount(named[0]);
        assert.ok(isMountPoint(root), `after a kill at ${delay} ms: ${named[0]} mounts`);
        assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'x');
        await store.unmount(named[0]);
      }
      // Only layers and named containers are left in the driver directory.
      const dirs = fs.readdirSync(overlay).filter((n) => /^[0-9a-f]{64}$/.test(n) && !store.layerRecord(`sha256:${n}`));
      assert.deepEqual(dirs.sort(), named.sort(), `after a kill at ${delay} ms`);
    }
    assert.ok(seen > 0, 'the killed child had made container layers');
  });

  it('a torn line of the container layer log (a kill mid-append) is skipped; a layer the log never named is removed', async () => {
    const { graph, store, img } = await storeWithImage('torn:1', 'f', 'x');
    const ids = ['1', '2', '3'].map((c) => c.repeat(64));
    for (const id of ids) await store.createContainerLayer(id, img.id);
    await store.removeContainerLayer(ids[1]!);
    const log = path.join(graph, 'storage/overlay-containers/containers.log');
    const line = JSON.stringify({ add: { ...store.containerLayer(ids[0]!), id: '4'.repeat(64) } });
    fs.mkdirSync(path.join(graph, 'storage/overlay', '4'.repeat(64), 'diff'), { recursive: true });
    fs.appendFileSync(log, line.slice(0, line.length - 3));
    // A create killed before its line: its directory, no record.
    fs.mkdirSync(path.join(graph, 'storage/overlay', '5'.repeat(64), 'diff'), { recursive: true });
    const again = await open(graph);
    assert.equal(again.containerLayer(ids[0]!)?.imageId, img.id);
    assert.equal(again.containerLayer(ids[1]!), undefined, 'removed before');
    assert.equal(again.containerLayer(ids[2]!)?.imageId, img.id);
    for (const id of ['4', '5'].map((c) => c.repeat(64))) {
      assert.equal(again.containerLayer(id), undefined, id);
      assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', id)), false, id);
    }
    // Appends after the open land on whole lines: the torn one is gone.
    await again.createContainerLayer('6'.repeat(64), img.id);
    await again.removeContainerLayer(ids[0]!);
    const third = await open(graph);
    assert.deepEqual(Object.keys(Object.fromEntries(containerLog(graph))).sort(), [ids[2]!, '6'.repeat(64)]);
    assert.equal(third.containerLayer('6'.repeat(64))?.imageId, img.id);
    await assert.rejects(third.removeImage(img.id), /Image used by container/);
  });

  it('the container layer log is compacted as it grows: only live records are kept', async () => {
    const { graph, store, img } = await storeWithImage('many:1', 'f', 'x');
    const log = path.join(graph, 'storage/overlay-containers/containers.log');
    const kept = 'a'.repeat(64);
    await store.createContainerLayer(kept, img.id);
    let largest = 0;
    for (let i = 0; i < 150; i++) {
      const ids = Array.from({ length: 8 }, () => randomBytes(32).toString('hex'));
      await Promise.all(ids.map((id) => store.createContainerLayer(id, img.id)));
      await Promise.all(ids.map((id) => store.removeContainerLayer(id)));
      largest = Math.max(largest, fs.statSync(log).size);
    }
    assert.ok(largest < 300 * 1024, `the log stays small (${largest} bytes at most)`);
    assert.deepEqual([...containerLog(graph).keys()], [kept]);
    assert.equal((await open(graph)).containerLayer(kept)?.imageId, img.id);
  });

  it('a store of the previous version (one index of container layers) opens: its layers mount and remove, the index is fenced off', async () => {
    const { graph, store, img } = await storeWithImage('old:1', 'old', 'from before');
    const ids = ['a', 'b', 'd'].map((c) => c.repeat(64));
    for (const id of ids) await store.createContainerLayer(id, img.id);
    // What the previous version wrote: one index, no log; and a name the index keeps whose
    // directory is gone.
    const dir = path.join(graph, 'storage/overlay-containers');
    const index = Object.fromEntries(containerLog(graph));
    index['e'.repeat(64)] = { ...index[ids[0]!]!, id: 'e'.repeat(64) };
    fs.rmSync(path.join(dir, 'containers.log'));
    fs.writeFileSync(path.join(dir, 'containers.json'), `${JSON.stringify(index)}\n`, { mode: 0o600 });
    const again = await open(graph);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['containers.json', 'containers.log']);
    // Adopted, the old index is replaced by a text an older daemon refuses (not JSON), so a
    // downgrade stops at open instead of sweeping every container layer.
    assert.throws(() => JSON.parse(fs.readFileSync(path.join(dir, 'containers.json'), 'utf8')), SyntaxError);
    for (const id of ids) assert.equal(again.containerLayer(id)?.imageId, img.id, id);
    assert.equal(again.containerLayer('e'.repeat(64)), undefined);
    const root = await again.mount(ids[0]!);
    assert.equal(fs.readFileSync(path.join(root, 'old'), 'utf8'), 'from before');
    await again.removeContainerLayer(ids[0]!);
    assert.equal(fs.existsSync(path.join(graph, 'storage/overlay', ids[0]!)), false);
    // An adoption killed midway: the log written, the index not yet removed. Nothing comes back.
    fs.writeFileSync(path.join(dir, 'containers.json'), `${JSON.stringify({ [ids[1]!]: index[ids[1]!] })}\n`, { mode: 0o600 });
    const third = await open(graph);
    assert.equal(third.containerLayer(ids[0]!), undefined);
    for (const id of ids.slice(1)) assert.equal(third.containerLayer(id)?.imageId, img.id, id);
    await third.sweep([]);
    assert.deepEqual(
      fs.readdirSync(path.join(graph, 'storage/overlay')).filter((n) => n !== 'l' && !third.layerRecord(`sha256:${n}`)),
      [],
    );
  });

  it('a layer whose stream fails midway leaves nothing', async () => {
    const graph = newGraph();
    const store = await open(graph);
    const big = makeTar([{ name: 'big', content: randomBytes(1 << 20) }]);
    for (const plain of [true, false]) {
      const l = layer(big, { plain, failAfter: 300000 });
      await assert.rejects(store.putLayer(undefined, l), /connection reset by peer/);
      assert.equal(store.hasLayer(l.diffId), false);
    }
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/tmp')), []);
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/overlay')), ['l']);
  });
});

describe('OCI store: hostile layers', { skip: !isRoot && 'needs root' }, () => {
  /** Each layer must be refused with a message naming the layer and `entry`, leaving no trace. */
  async function refused(
    entries: TarEntry[] | Buffer,
    pattern: RegExp,
    extra: { storageOpts?: string[]; maxEntries?: number; diffId?: string; plain?: boolean } = {},
  ): Promise<void> {
    const graph = newGraph();
    const store = await open(graph, 'overlay2', extra);
    const tar = Buffer.isBuffer(entries) ? entries : makeTar(entries);
    const l = layer(tar, { diffId: extra.diffId, plain: extra.plain });
    await assert.rejects(store.putLayer(undefined, l), (e: Error) => {
      assert.ok(e.message.includes(l.descriptor.digest), `names the layer: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
    assert.equal(store.hasLayer(l.diffId), false);
    assert.deepEqual(fs.readdirSync(path.join(graph, 'storage/tmp')), []);
    assert.deepEqual(fs.readdirSync(canaryDir), ['canary']);
    assert.equal(fs.readFileSync(canary, 'utf8'), 'untouched');
  }
  const up = (): string => path.relative('/', canaryDir).replace(/[^/]+/g, '..');

  it('a path that leaves the layer', () =>
    refused([{ name: `../../../../../../../..${canaryDir}/evil`, content: 'x' }], /entry ".*evil": the path leaves the layer/));
  it('a write through a symlink made earlier in the layer', () =>
    refused(
      [
        { name: 'link', type: '2', linkname: canaryDir },
        { name: 'link/evil', content: 'x' },
      ],
      /entry "link\/evil": written through the symbolic link "link"/,
    ));
  it('a write through a relative symlink that climbs out', () =>
    refused(
      [
        { name: 'up', type: '2', linkname: `${up()}/../..${canaryDir}` },
        { name: 'up/canary', content: 'x' },
      ],
      /written through the symbolic link/,
    ));
  it('a file under a regular file', () =>
    refused(
      [
        { name: 'f', content: 'x' },
        { name: 'f/g', content: 'x' },
      ],
      /parent "f" is not a directory/,
    ));
  it('a hard link to a host file', () => refused([{ name: 'pw', type: '1', linkname: canary }], /entry "pw": a hard link to .*not an earlier regular file/));
  it('a hard link that climbs out', () =>
    refused([{ name: 'pw', type: '1', linkname: `../../../..${canary}` }], /entry "pw": a hard link to .*outside the layer/));
  it('a hard link to a symlink', () =>
    refused(
      [
        { name: 's', type: '2', linkname: canary },
        { name: 'h', type: '1', linkname: 's' },
      ],
      /entry "h": a hard link to "s", which is not an earlier regular file/,
    ));
  it('the same path twice', () =>
    refused(
      [
        { name: 'a', content: '1' },
        { name: 'a', type: '2', linkname: canary },
      ],
      /entry "a": the path appears twice/,
    ));
  it('an overlay xattr smuggled in a PAX record', () =>
    refused(
      [{ name: 'd/', type: '5', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } }],
      /entry "d\/": the xattr "trusted.overlay.redirect" is not allowed/,
    ));
  it('a sparse file', () => refused([{ name: 's', content: 'x', pax: { 'GNU.sparse.major': '1' } }], /sparse files are not supported/));
  it('an uncompressed size over overlay2.layer_max_size (tar bomb)', () =>
    refused([{ name: 'bomb', content: Buffer.alloc(3 << 20) }], /unpacks to more than 2097152 bytes/, { storageOpts: ['overlay2.layer_max_size=2M'] }));
  it('more entries than the limit', () =>
    refused(
      Array.from({ length: 20 }, (_, i) => ({ name: `e${i}` })),
      /more than 10 entries/,
      { maxEntries: 10 },
    ));
  it('a free-space floor the layer would cross', () =>
    refused([{ name: 'a', content: 'x' }], /less than .* bytes free/, { storageOpts: ['overlay2.min_free_space=1000T'] }));
  it('a diff_id that does not match', () => refused([{ name: 'a', content: 'x' }], /not the diff_id/, { diffId: sha256('other') }));
  it('a zstd layer on a runtime without zstd', { skip: 'createZstdDecompress' in zlib && 'this runtime has zstd' }, () =>
    refused(Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]), /zstd-compressed, and this runtime/, { plain: true }),
  );
  it('a truncated tar', () => refused(makeTar([{ name: 'a', content: 'x'.repeat(2000) }]).subarray(0, 1024), /ends in the middle of an entry/));
  it('a corrupt header checksum', () => {
    const t = makeTar([{ name: 'a', content: 'x' }]);
    t[0] = 0x62;
    return refused(t, /wrong checksum/);
  });

  for (const driver of ['overlay2', 'vfs'] as const) {
    it(`${driver}: a later layer writing or whiting out through a lower layer's symlink stays inside`, {
      skip: driver === 'overlay2' && !hasOverlay && 'no overlay',
    }, async () => {
      const store = await open(newGraph(), driver);
      const layers = [
        layer(
          makeTar([
            { name: 'a', type: '2', linkname: canaryDir },
            { name: 'b', type: '2', linkname: canaryDir },
          ]),
        ),
        layer(makeTar([{ name: 'a/canary', content: 'evil' }, { name: 'b/.wh.canary' }])),
      ];
      await putAll(store, layers);
      const img = await store.addImage(imageOf(layers), ['through:1'], []);
      await store.createContainerLayer(CONTAINER, img.id);
      const root = await store.mount(CONTAINER);
      assert.equal(fs.readFileSync(path.join(root, 'a/canary'), 'utf8'), 'evil');
      assert.ok(fs.lstatSync(path.join(root, 'b')).isDirectory());
      // (overlay may list a whiteout in a directory no lower layer has, as it does under Docker; it is never found.)
      assert.equal(fs.existsSync(path.join(root, 'b/canary')), false);
      await store.removeContainerLayer(CONTAINER);
      assert.deepEqual(fs.readdirSync(canaryDir), ['canary']);
      assert.equal(fs.readFileSync(canary, 'utf8'), 'untouched');
    });
  }

  it('stores an absolute symlink as it is, never following it on the host', { skip: !hasOverlay && 'no overlay' }, async () => {
    const store = await open(newGraph());
    const l = layer(
      makeTar([
        { name: 'etc/', type: '5' },
        { name: 'etc/passwd', type: '2', linkname: canary },
      ]),
    );
    await store.putLayer(undefined, l);
    const img = await store.addImage(imageOf([l]), ['abs:1'], []);
    await store.createContainerLayer(CONTAINER, img.id);
    const root = await store.mount(CONTAINER);
    assert.equal(fs.readlinkSync(path.join(root, 'etc/passwd')), canary);
    assert.equal(await streamSha(store.layerTar(l.diffId)), l.diffId);
    await store.removeContainerLayer(CONTAINER);
    assert.equal(fs.readFileSync(canary, 'utf8'), 'untouched');
  });
});

describe('OCI store: storage-opts', () => {
  it('accepts iSulad keys and the size limits', () => {
    const o = parseStorageOpts([
      'overlay2.override_kernel_check=true',
      'overlay2.mountopt=nodev',
      'overlay2.layer_max_size=1G',
      'overlay2.min_free_space=100M',
    ]);
    assert.equal(o.overrideKernelCheck, true);
    assert.equal(o.mountOptions, 'nodev');
    assert.equal(o.layerMaxSize, 1 << 30);
    assert.equal(o.minFreeSpace, 100 << 20);
  });
  it('refuses unknown keys and quotas, naming the key', () => {
    assert.throws(() => parseStorageOpts(['overlay2.bogus=1']), /storage-opt overlay2.bogus: unknown option/);
    assert.throws(() => parseStorageOpts(['overlay2.size=10G']), /overlay2.size: container size quotas/);
    assert.throws(() => parseStorageOpts(['overlay2.layer_max_size=lots']), /not a size/);
  });
});
