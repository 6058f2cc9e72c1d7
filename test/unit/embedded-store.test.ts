import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EngineError } from '../../src/api/errors.js';
import { EmbeddedImageBackend, inspectEmbeddedImage } from '../../src/image/embedded/backend.js';
import { type LoadedManifest, readEmbeddedManifest, signaturePathFor } from '../../src/image/embedded/manifest.js';
import { type EmbeddedManifest, LAYER_DIR, LAYER_SQUASHFS, MANIFEST_MEDIA_TYPE } from '../../src/image/embedded/schema.js';
import { EmbeddedImageStore, STORE_FILE, withDefaultTag } from '../../src/image/embedded/store.js';
import { findBlockDevice } from '../helpers/block-device.js';

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const blockDevice = findBlockDevice();
const noDevice = 'no block device under /dev matches /sys/block on this machine';

let root = '';
let img = '';
before(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-embedded-store-')));
  img = path.join(root, 'img');
  fs.mkdirSync(img);
  fs.writeFileSync(path.join(img, 'platform.img'), 'p'.repeat(823));
  fs.writeFileSync(path.join(img, 'app.img'), 'a'.repeat(1000));
  fs.mkdirSync(path.join(img, 'data'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

let seq = 0;
const newStoreDir = (): string => path.join(root, `store${++seq}`);

/** A LoadedManifest as readEmbeddedManifest would return it, built by hand (no file needs to exist). */
function loaded(name: string, opts: { manifestPath?: string; salt?: string; layer0?: { mediaType: string; pathInHost: string } } = {}): LoadedManifest {
  const layer0 = opts.layer0 ?? { mediaType: LAYER_DIR, pathInHost: '/' };
  const manifest: EmbeddedManifest = {
    schemaVersion: 1,
    mediaType: MANIFEST_MEDIA_TYPE,
    imageName: name,
    created: '2018-01-01T00:00:00.000Z',
    config: { ENV: ['c=d e'], ENTRYPOINT: ['/bin/ls', '/home'], WORKDIR: '/work' },
    layers: [
      { mediaType: layer0.mediaType, size: 0, digest: '', pathInHost: layer0.pathInHost, pathInContainer: '' },
      { mediaType: LAYER_SQUASHFS, size: 823, digest: '', pathInHost: 'platform.img', pathInContainer: '/home' },
      { mediaType: LAYER_DIR, size: 0, digest: '', pathInHost: 'data', pathInContainer: '/data' },
      { mediaType: LAYER_SQUASHFS, size: 1000, digest: '', pathInHost: 'app.img', pathInContainer: '/home/home' },
    ],
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n${opts.salt ?? ''}`;
  return {
    manifestPath: opts.manifestPath ?? path.join(img, `${name.replace(/[/:]/g, '_')}.manifest`),
    digest: sha256(text),
    manifest,
    text,
    rootfsDevice: layer0.pathInHost,
    layers: [],
    size: 1823,
  };
}

/** Expects an EngineError with the given exit code and a message matching `re`. */
function isEngineError(code: number, re: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
    assert.equal(err.exitCode, code);
    assert.match(err.message, re);
    return true;
  };
}

describe('withDefaultTag', () => {
  const cases: [string, string][] = [
    ['test', 'test:latest'],
    ['test:v1', 'test:v1'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['localhost:5000/app:v2', 'localhost:5000/app:v2'],
  ];
  for (const [ref, want] of cases) it(`${ref} -> ${want}`, () => assert.equal(withDefaultTag(ref), want));
});

describe('EmbeddedImageStore', () => {
  let dir = '';
  let store: EmbeddedImageStore;
  beforeEach(() => {
    dir = newStoreDir();
    store = new EmbeddedImageStore(dir);
  });
  const storeFile = (): string => path.join(dir, STORE_FILE);

  it('creates its directory 0700 and starts empty without writing a file', () => {
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(store.count(), 0);
    assert.deepEqual(store.list(), []);
    assert.equal(fs.existsSync(storeFile()), false);
  });

  it('add records the image as isula images shows it', () => {
    const m = loaded('test:v1');
    const before = Date.now();
    const { image, created } = store.add(m);
    assert.equal(created, true);
    assert.equal(image.name, 'test:v1');
    assert.equal(image.digest, m.digest);
    assert.equal(image.id, m.digest.slice(7));
    assert.match(image.id, /^[0-9a-f]{64}$/);
    assert.equal(image.manifestPath, m.manifestPath);
    assert.equal(image.created, '2018-01-01T00:00:00.000Z');
    assert.equal(image.size, 1823);
    assert.equal(image.manifestText, m.text);
    assert.ok(Date.parse(image.loadedAt) >= before - 1 && Date.parse(image.loadedAt) <= Date.now() + 1);
    assert.equal(store.count(), 1);
    assert.deepEqual(store.get('test:v1'), image);
  });

  it('get wants the exact name:tag, and a bare name means :latest', () => {
    store.add(loaded('test:v1'));
    store.add(loaded('app:latest'));
    assert.equal(store.get('test'), undefined);
    assert.equal(store.get('test:v2'), undefined);
    assert.equal(store.get('test:v1')?.name, 'test:v1');
    assert.equal(store.get('app')?.name, 'app:latest');
    assert.equal(store.get('app:latest')?.name, 'app:latest');
  });

  it('loading the same manifest again succeeds and changes nothing', () => {
    const m = loaded('test:v1');
    const first = store.add(m).image;
    const onDisk = fs.readFileSync(storeFile(), 'utf8');
    const again = store.add({ ...m });
    assert.equal(again.created, false);
    assert.deepEqual(again.image, first);
    assert.equal(store.count(), 1);
    assert.equal(fs.readFileSync(storeFile(), 'utf8'), onDisk);
  });

  it('the same name from another manifest path is a name conflict (exit 3), and nothing is written', () => {
    const m = loaded('test:v1');
    store.add(m);
    const onDisk = fs.readFileSync(storeFile(), 'utf8');
    const copy = { ...m, manifestPath: path.join(root, 'copy', 'test.manifest') };
    assert.throws(
      () => store.add(copy),
      isEngineError(3, new RegExp(`^Image name is conflicted in the database: test:v1 is already loaded from ${m.manifestPath}`)),
    );
    assert.equal(fs.readFileSync(storeFile(), 'utf8'), onDisk);
    assert.equal(store.get('test:v1')?.manifestPath, m.manifestPath);
  });

  it('the same name and path with a changed manifest is a conflict too', () => {
    const m = loaded('test:v1');
    store.add(m);
    const onDisk = fs.readFileSync(storeFile(), 'utf8');
    assert.throws(() => store.add(loaded('test:v1', { salt: ' ' })), isEngineError(3, /already loaded from .*changed/));
    assert.equal(fs.readFileSync(storeFile(), 'utf8'), onDisk);
    assert.equal(store.get('test:v1')?.digest, m.digest);
  });

  it('list puts the newest load first', () => {
    store.add(loaded('a:v1'));
    store.add(loaded('b:v1'));
    store.add(loaded('c:v1'));
    assert.deepEqual(
      store.list().map((i) => i.name),
      ['c:v1', 'b:v1', 'a:v1'],
    );
  });

  it('remove forgets the image and an unknown one is imageNotFound (exit 20)', () => {
    store.add(loaded('test:v1'));
    store.add(loaded('app:latest'));
    store.remove('test:v1');
    assert.equal(store.get('test:v1'), undefined);
    store.remove('app');
    assert.equal(store.count(), 0);
    assert.throws(() => store.remove('test:v1'), isEngineError(20, /^No such image: test:v1$/));
    assert.throws(() => store.remove('nope'), isEngineError(20, /^No such image: nope$/));
    // Reloading after a remove works (CI: load, rmi, load, rmi).
    assert.equal(store.add(loaded('test:v1')).created, true);
  });

  it('survives a new instance: the file is read back whole', () => {
    store.add(loaded('a:v1'));
    store.add(loaded('b:v1'));
    store.add(loaded('c:v1'));
    store.remove('b:v1');
    const again = new EmbeddedImageStore(dir);
    assert.deepEqual(again.list(), store.list());
    assert.deepEqual(again.get('a:v1'), store.get('a:v1'));
    assert.equal(again.add(loaded('a:v1')).created, false);
    assert.throws(() => again.add(loaded('a:v1', { manifestPath: '/elsewhere/a.manifest' })), isEngineError(3, /conflicted/));
  });

  it('writes a versioned JSON file, never leaving a temp file behind', () => {
    store.add(loaded('a:v1'));
    store.add(loaded('b:v1'));
    store.remove('a:v1');
    assert.deepEqual(fs.readdirSync(dir), [STORE_FILE]);
    const parsed = JSON.parse(fs.readFileSync(storeFile(), 'utf8')) as { version: number; images: { name: string }[] };
    assert.equal(parsed.version, 1);
    assert.deepEqual(
      parsed.images.map((i) => i.name),
      ['b:v1'],
    );
  });

  it('removes a temp file a crash left behind, and keeps the committed file', () => {
    store.add(loaded('a:v1'));
    const stale = path.join(dir, `.${STORE_FILE}.99999.tmp`);
    fs.writeFileSync(stale, '{"version":1,"ima');
    const again = new EmbeddedImageStore(dir);
    assert.equal(fs.existsSync(stale), false);
    assert.equal(again.get('a:v1')?.name, 'a:v1');
  });

  it('returned records cannot be altered by the caller', () => {
    const { image } = store.add(loaded('a:v1'));
    assert.throws(() => {
      (image as { name: string }).name = 'x:v1';
    }, TypeError);
    assert.equal(store.get('a:v1')?.name, 'a:v1');
  });

  describe('a damaged images.json is refused, naming the file', () => {
    const cases: [string, string, RegExp][] = [
      ['torn JSON', '{"version":1,"images":[{"na', /is not valid JSON/],
      ['empty', '', /is not valid JSON/],
      ['wrong shape', '[]', /is not a version 1 image list/],
      ['unknown version', '{"version":2,"images":[]}', /is not a version 1 image list/],
      ['bad entry', '{"version":1,"images":[{"name":"a:v1"}]}', /malformed entry images\[0\]/],
    ];
    for (const [what, content, re] of cases) {
      it(what, () => {
        const d = newStoreDir();
        fs.mkdirSync(d);
        fs.writeFileSync(path.join(d, STORE_FILE), content);
        assert.throws(() => new EmbeddedImageStore(d), isEngineError(1, new RegExp(`${path.join(d, STORE_FILE)}.*`)));
        assert.throws(() => new EmbeddedImageStore(d), re);
        // The damaged file is left for the operator to look at.
        assert.equal(fs.readFileSync(path.join(d, STORE_FILE), 'utf8'), content);
      });
    }
    it('a name listed twice', () => {
      const d = newStoreDir();
      const s = new EmbeddedImageStore(d);
      s.add(loaded('a:v1'));
      const file = path.join(d, STORE_FILE);
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { images: unknown[] };
      parsed.images.push(parsed.images[0]);
      fs.writeFileSync(file, JSON.stringify(parsed));
      assert.throws(() => new EmbeddedImageStore(d), /lists a:v1 twice/);
    });
    it('a directory in its place', () => {
      const d = newStoreDir();
      fs.mkdirSync(path.join(d, STORE_FILE), { recursive: true });
      assert.throws(() => new EmbeddedImageStore(d), isEngineError(1, /images\.json cannot be read: EISDIR/));
    });
  });
});

describe('EmbeddedImageBackend', () => {
  let store: EmbeddedImageStore;
  let backend: EmbeddedImageBackend;
  beforeEach(() => {
    store = new EmbeddedImageStore(newStoreDir());
    backend = new EmbeddedImageBackend(store);
  });

  it('detects only stored images, and never with an external rootfs', () => {
    store.add(loaded('test:v1'));
    store.add(loaded('app:latest'));
    assert.equal(backend.kind, 'embedded');
    assert.equal(backend.detect('test:v1', undefined), true);
    assert.equal(backend.detect('app', undefined), true);
    assert.equal(backend.detect('test', undefined), false);
    assert.equal(backend.detect('nonexistentname1:v1', undefined), false);
    assert.equal(backend.detect('test:v1', '/some/rootfs'), false);
  });

  it('resolve maps a host-root layer 0, later layers and the config', async () => {
    store.add(loaded('test:v1'));
    const got = await backend.resolve('test:v1');
    assert.deepEqual(got, {
      name: 'test:v1',
      type: 'embedded',
      rootfs: { kind: 'dir', path: '/' },
      mounts: [
        { type: 'squashfs', source: path.join(img, 'platform.img'), destination: '/home', readOnly: true },
        { type: 'bind', source: path.join(img, 'data'), destination: '/data', readOnly: true, propagation: 'rprivate' },
        { type: 'squashfs', source: path.join(img, 'app.img'), destination: '/home/home', readOnly: true },
      ],
      config: { env: ['c=d e'], entrypoint: ['/bin/ls', '/home'], workdir: '/work' },
      userDbRoot: '/',
    });
  });

  it('resolve maps a squashfs layer 0 to its block device', async (t) => {
    if (!blockDevice) return t.skip(noDevice);
    store.add(loaded('test:v1', { layer0: { mediaType: LAYER_SQUASHFS, pathInHost: blockDevice } }));
    const got = await backend.resolve('test:v1');
    assert.deepEqual(got.rootfs, { kind: 'block', path: fs.realpathSync(blockDevice) });
    assert.equal(got.mounts.length, 3);
  });

  it('resolve follows a symlink to the rootfs device (CI test_symbolic)', async (t) => {
    if (!blockDevice) return t.skip(noDevice);
    const link = path.join(root, `rootfs-link${++seq}`);
    fs.symlinkSync(blockDevice, link);
    store.add(loaded('test:v1', { layer0: { mediaType: LAYER_SQUASHFS, pathInHost: link } }));
    assert.deepEqual((await backend.resolve('test:v1')).rootfs, { kind: 'block', path: fs.realpathSync(blockDevice) });
  });

  it('resolve refuses a rootfs device that is gone or no longer a block device', async () => {
    const gone = path.join(root, 'no-such-device');
    store.add(loaded('gone:v1', { layer0: { mediaType: LAYER_SQUASHFS, pathInHost: gone } }));
    await assert.rejects(backend.resolve('gone:v1'), isEngineError(1, new RegExp(`${gone} of embedded image gone:v1 no longer exists`)));
    const file = path.join(img, 'platform.img');
    store.add(loaded('file:v1', { layer0: { mediaType: LAYER_SQUASHFS, pathInHost: file } }));
    await assert.rejects(backend.resolve('file:v1'), isEngineError(1, new RegExp(`${file} of embedded image file:v1 is not a block device`)));
  });

  it('resolve refuses a layer file removed since loading', async () => {
    const d = path.join(root, `moved${++seq}`);
    fs.mkdirSync(d);
    store.add(loaded('moved:v1', { manifestPath: path.join(d, 'test.manifest') }));
    await assert.rejects(backend.resolve('moved:v1'), isEngineError(1, /Layer 1 .*platform\.img of embedded image moved:v1 no longer exists/));
  });

  it('resolve of an unknown image is imageNotFound', async () => {
    await assert.rejects(backend.resolve('nonexistentname1:v1'), isEngineError(20, /No such image: nonexistentname1:v1/));
  });

  it('missing config fields become empty values', async () => {
    const m = loaded('bare:v1');
    const manifest: EmbeddedManifest = { ...m.manifest, config: {} };
    const text = JSON.stringify(manifest);
    store.add({ ...m, manifest, text, digest: sha256(text) });
    assert.deepEqual((await backend.resolve('bare:v1')).config, { env: [], entrypoint: [], workdir: '' });
  });

  it('inspect shows the manifest as loaded', () => {
    const m = loaded('test:v1');
    const { image } = store.add(m);
    assert.deepEqual(inspectEmbeddedImage(image), JSON.parse(m.text));
  });

  it('works end to end from a signed manifest on disk', async () => {
    const d = path.join(root, `e2e${++seq}`);
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'app.img'), 'x'.repeat(4096));
    const text = JSON.stringify({
      schemaVersion: 1,
      mediaType: MANIFEST_MEDIA_TYPE,
      imageName: 'e2e:v1',
      created: '2018-01-01T00:00:00Z',
      config: { ENV: ['a=b'] },
      layers: [
        { mediaType: LAYER_DIR, size: 0, digest: '', pathInHost: '/', pathInContainer: '' },
        { mediaType: LAYER_SQUASHFS, size: 4096, digest: sha256('x'.repeat(4096)), pathInHost: 'app.img', pathInContainer: '/app' },
      ],
    });
    const file = path.join(d, 'test.manifest');
    fs.writeFileSync(file, text);
    fs.writeFileSync(signaturePathFor(file), sha256(text));
    const m = await readEmbeddedManifest(file);
    const { image } = store.add(m);
    assert.equal(image.size, 4096);
    assert.equal(store.add(await readEmbeddedManifest(file)).created, false);
    const got = await backend.resolve('e2e:v1');
    assert.deepEqual(got.mounts, [{ type: 'squashfs', source: path.join(d, 'app.img'), destination: '/app', readOnly: true }]);
    assert.deepEqual(got.config, { env: ['a=b'], entrypoint: [], workdir: '' });
  });
});
