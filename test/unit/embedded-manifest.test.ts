import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../src/api/errors.js';
import { parseImageReference, readEmbeddedManifest, signaturePathFor } from '../../src/image/embedded/manifest.js';
import { LAYER_DIR, LAYER_SQUASHFS, MANIFEST_MEDIA_TYPE } from '../../src/image/embedded/schema.js';
import { findBlockDevice } from '../helpers/block-device.js';

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const blockDevice = findBlockDevice();
const noDevice = 'no block device under /dev matches /sys/block on this machine';

type Json = Record<string, unknown>;

/** Expects EngineError(1) with a one-line message matching `re`. */
async function rejects(promise: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), 'message must be one line');
    return true;
  });
}

describe('parseImageReference', () => {
  const good: [string, string, string][] = [
    ['test:v1', 'test', 'v1'],
    ['none:v1', 'none', 'v1'],
    ['a/b/c:1.0-rc_1', 'a/b/c', '1.0-rc_1'],
    ['localhost:5000/app:v1', 'localhost:5000/app', 'v1'],
    ['Registry.example.com/x:y', 'Registry.example.com/x', 'y'],
    ['a__b.c-d---e:_x', 'a__b.c-d---e', '_x'],
    [`n:${'t'.repeat(128)}`, 'n', 't'.repeat(128)],
  ];
  for (const [ref, name, tag] of good) it(`accepts ${ref.slice(0, 40)}`, () => assert.deepEqual(parseImageReference(ref), { name, tag }));
  const bad = [
    'test',
    'k~k',
    'k~k:v1',
    'Test:v1',
    'a:b/c',
    'localhost:5000/app',
    ':v1',
    'a:',
    'a:.x',
    'a:-x',
    'a//b:v1',
    'a/:v1',
    'a___b:v1',
    'a._b:v1',
    '-a:v1',
    'a-:v1',
    `n:${'t'.repeat(129)}`,
    `${'a'.repeat(250)}:v1234`,
    'Host/:v1',
  ];
  for (const ref of bad) it(`rejects ${ref.slice(0, 40)}`, () => assert.equal(parseImageReference(ref), undefined));
  it('a long run of separators does not backtrack for ages', () => {
    const start = Date.now();
    assert.equal(parseImageReference(`${'a-'.repeat(120)}!:v1`), undefined);
    assert.ok(Date.now() - start < 100);
  });
});

describe('signaturePathFor', () => {
  const cases: [string, string][] = [
    ['/img/test.manifest', '/img/test.sgn'],
    ['/img/manifest', '/img/manifest.sgn'],
    ['/img/a.b.manifest', '/img/a.b.sgn'],
    ['/img.d/manifest', '/img.d/manifest.sgn'],
    ['img/test.manifest', 'img/test.sgn'],
    ['.manifest', '.manifest.sgn'],
  ];
  for (const [p, want] of cases) it(`${p} -> ${want}`, () => assert.equal(signaturePathFor(p), want));
});

describe('readEmbeddedManifest', () => {
  let root = '';
  let img = '';
  let appDigest = '';
  let platformDigest = '';
  let seq = 0;

  before(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-embedded-')));
    img = path.join(root, 'img');
    fs.mkdirSync(img);
    // Layer files are opaque to the validation: any regular file stands in for a squashfs image.
    fs.writeFileSync(path.join(img, 'platform.img'), 'p'.repeat(823));
    fs.writeFileSync(path.join(img, 'app.img'), 'a'.repeat(1000));
    platformDigest = sha256('p'.repeat(823));
    appDigest = sha256('a'.repeat(1000));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** The CI template, with layer 0 as the host root unless a rootfs is given (needs no device). */
  function template(rootfs: { mediaType: string; pathInHost: string } = { mediaType: LAYER_DIR, pathInHost: '/' }): Json {
    return {
      schemaVersion: 1,
      mediaType: MANIFEST_MEDIA_TYPE,
      imageName: 'test:v1',
      created: '2018-01-01T00:00:00.000Z',
      config: { ENV: ['c=d e'], ENTRYPOINT: [], WORKDIR: '/' },
      layers: [
        { mediaType: rootfs.mediaType, size: 0, digest: '', pathInHost: rootfs.pathInHost, pathInContainer: '' },
        { mediaType: LAYER_SQUASHFS, size: 823, digest: platformDigest, pathInHost: 'platform.img', pathInContainer: '/home' },
        { mediaType: LAYER_SQUASHFS, size: 823, digest: appDigest, pathInHost: 'app.img', pathInContainer: '/home/home' },
      ],
    };
  }
  const layer = (m: Json, i: number): Json => (m.layers as Json[])[i];

  /** Writes a manifest (object or raw text) and its .sgn into `dir`; 'match' signs it correctly. */
  function write(content: Json | string | Buffer, sgn: 'match' | 'none' | string = 'match', dir = img): string {
    const file = path.join(dir, `case${++seq}.manifest`);
    const text = typeof content === 'string' || Buffer.isBuffer(content) ? content : `${JSON.stringify(content, null, 2)}\n`;
    fs.writeFileSync(file, text);
    if (sgn !== 'none') fs.writeFileSync(signaturePathFor(file), sgn === 'match' ? sha256(text) : sgn);
    return file;
  }
  const edit = (f: (m: Json) => void): string => {
    const m = template();
    f(m);
    return write(m);
  };

  describe('happy path', () => {
    it('host-root layer 0: realpaths, digest, size of layers 1..n', async () => {
      const file = write(template());
      const got = await readEmbeddedManifest(file);
      assert.equal(got.manifestPath, file);
      assert.equal(got.digest, sha256(fs.readFileSync(file)));
      assert.equal(got.text, fs.readFileSync(file, 'utf8'));
      assert.equal(got.rootfsDevice, '/');
      assert.equal(got.manifest.imageName, 'test:v1');
      assert.deepEqual(got.manifest.config, { ENV: ['c=d e'], ENTRYPOINT: [], WORKDIR: '/' });
      assert.deepEqual(got.layers, [
        { type: 'squashfs', hostPath: path.join(img, 'platform.img'), containerPath: '/home', size: 823, digest: platformDigest },
        { type: 'squashfs', hostPath: path.join(img, 'app.img'), containerPath: '/home/home', size: 1000, digest: appDigest },
      ]);
      assert.equal(got.size, 1823);
    });
    it('block-device layer 0', async (t) => {
      if (!blockDevice) return t.skip(noDevice);
      const got = await readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: blockDevice })));
      assert.equal(got.rootfsDevice, fs.realpathSync(blockDevice));
      assert.equal(got.size, 1823);
    });
    it('a relative input path is taken from the cwd', async () => {
      const file = write(template());
      const got = await readEmbeddedManifest(path.relative(process.cwd(), file));
      assert.equal(got.manifestPath, file);
    });
    it('digest and pathInContainer of layer 0, digest of later layers and config may be absent', async () => {
      const m = template();
      delete m.config;
      delete layer(m, 0).digest;
      delete layer(m, 0).pathInContainer;
      delete layer(m, 1).digest;
      const got = await readEmbeddedManifest(write(m));
      assert.deepEqual(got.manifest.config, {});
      assert.equal(got.manifest.layers[0].digest, '');
      assert.equal(got.layers[0].digest, '');
    });
    it('a directory layer becomes a dir layer', async () => {
      fs.mkdirSync(path.join(img, 'data'), { recursive: true });
      const m = template();
      (m.layers as Json[]).push({ mediaType: LAYER_DIR, size: 0, digest: '', pathInHost: 'data/', pathInContainer: '/data' });
      const got = await readEmbeddedManifest(write(m));
      assert.equal(got.layers[2].type, 'dir');
      assert.equal(got.layers[2].hostPath, path.join(img, 'data'));
      assert.equal(got.size, 1823 + fs.statSync(path.join(img, 'data')).size);
    });
    it('created with a numeric offset and a 9-digit fraction', async () => {
      await readEmbeddedManifest(edit((m) => (m.created = '2020-02-29T23:59:59.123456789+08:00')));
      await readEmbeddedManifest(edit((m) => (m.created = '2020-02-29T23:59:59-05:30')));
    });
    it('125 layers are allowed', async () => {
      const m = template();
      const layers = m.layers as Json[];
      while (layers.length < 125) layers.push({ ...layers[2] });
      assert.equal((await readEmbeddedManifest(write(m))).layers.length, 124);
    });
    it("two copies in different directories both validate (the name conflict is the store's call)", async () => {
      const copy = path.join(root, 'copy');
      fs.cpSync(img, copy, { recursive: true });
      const text = `${JSON.stringify(template(), null, 2)}\n`;
      const a = await readEmbeddedManifest(write(text, 'match', img));
      const b = await readEmbeddedManifest(write(text, 'match', copy));
      assert.equal(a.manifest.imageName, b.manifest.imageName);
      assert.equal(a.digest, b.digest);
      assert.notEqual(a.manifestPath, b.manifestPath);
      assert.equal(b.layers[0].hostPath, path.join(copy, 'platform.img'));
    });
  });

  describe('symlinks (CI test_symbolic)', () => {
    it('layers, manifest and sgn reached through symlinks', async () => {
      // img2/app.img -> store/app.img, img2/platform.img -> <abs>/img2/store/platform.img (layer links stay in
      // the manifest's directory), img2/test.sgn -> ../img5/sgn, img3/manifest -> ../img2/test.manifest, img4 -> img3
      const img2 = path.join(root, 'img2');
      const img3 = path.join(root, 'img3');
      const img5 = path.join(root, 'img5');
      const store = path.join(img2, 'store');
      for (const d of [img2, img3, img5, store]) fs.mkdirSync(d);
      for (const f of ['app.img', 'platform.img']) fs.copyFileSync(path.join(img, f), path.join(store, f));
      fs.symlinkSync('store/app.img', path.join(img2, 'app.img'));
      fs.symlinkSync(path.join(store, 'platform.img'), path.join(img2, 'platform.img'));
      const text = `${JSON.stringify(template(), null, 2)}\n`;
      const manifest = path.join(img2, 'test.manifest');
      fs.writeFileSync(manifest, text);
      fs.writeFileSync(path.join(img5, 'sgn'), sha256(text));
      fs.symlinkSync('../img5/sgn', path.join(img2, 'test.sgn'));
      fs.symlinkSync('../img2/test.manifest', path.join(img3, 'manifest'));
      fs.symlinkSync('img3', path.join(root, 'img4'));

      for (const input of [manifest, path.join(img3, 'manifest'), path.join(root, 'img4', 'manifest')]) {
        const got = await readEmbeddedManifest(input);
        assert.equal(got.manifestPath, manifest);
        assert.deepEqual(
          got.layers.map((l) => l.hostPath),
          [path.join(store, 'platform.img'), path.join(store, 'app.img')],
        );
        assert.equal(got.size, 1823);
      }
    });
    it('the rootfs device reached through a symlink', async (t) => {
      if (!blockDevice) return t.skip(noDevice);
      const link = path.join(root, 'embedded_rootfs0');
      fs.symlinkSync(blockDevice, link);
      const got = await readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: link })));
      assert.equal(got.rootfsDevice, fs.realpathSync(blockDevice));
    });
    it('a layer path may not climb out of the manifest directory with ..', async () => {
      fs.mkdirSync(path.join(root, 'other'), { recursive: true });
      fs.writeFileSync(path.join(root, 'other', 'x.img'), 'x');
      await rejects(
        readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = '../other/x.img'))),
        /layers\[1\]\.pathInHost "\.\.\/other\/x\.img" leaves the manifest directory/,
      );
      // also not into a sibling whose name merely starts with the directory's name
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = '../img2/app.img'))), /leaves the manifest directory/);
    });
    it('a layer path may not lead out of the manifest directory through a symlink', async () => {
      const outside = path.join(root, 'outside');
      fs.mkdirSync(outside, { recursive: true });
      fs.writeFileSync(path.join(outside, 'x.img'), 'x');
      fs.symlinkSync('../outside/x.img', path.join(img, 'rel-out.img'));
      fs.symlinkSync(path.join(outside, 'x.img'), path.join(img, 'abs-out.img'));
      fs.symlinkSync(outside, path.join(img, 'dir-out'));
      for (const p of ['rel-out.img', 'abs-out.img', 'dir-out/x.img']) {
        await rejects(
          readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = p))),
          new RegExp(
            `^Invalid manifest: layers\\[1\\]\\.pathInHost "${p}" leads through a symlink to ${outside}/x\\.img, outside the manifest directory ${img}$`,
          ),
        );
      }
      // a directory layer too
      await rejects(
        readEmbeddedManifest(edit((m) => Object.assign(layer(m, 1), { mediaType: LAYER_DIR, digest: '', pathInHost: 'dir-out' }))),
        /layers\[1\]\.pathInHost "dir-out" leads through a symlink to .*\/outside, outside the manifest directory/,
      );
    });
    it('.. that stays inside the directory is fine', async () => {
      fs.mkdirSync(path.join(img, 'sub'), { recursive: true });
      const got = await readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = 'sub/../platform.img')));
      assert.equal(got.layers[0].hostPath, path.join(img, 'platform.img'));
    });
  });

  describe('CI test_invalid_manifest_part1', () => {
    it('imageName none is reserved', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = 'none'))), /^Invalid manifest: imageName "none" is reserved$/);
    });
    it('imageName none:latest is reserved', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = 'none:latest'))), /imageName "none:latest" is reserved/);
    });
    it('imageName k~k', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = 'k~k'))), /imageName "k~k" is not a valid name:tag reference/);
    });
    it('imageName test (no tag)', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = 'test'))), /imageName "test" is not a valid name:tag reference/);
    });
    it('invalid created time', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.created = '2018-01-01T00:00:00.000Zabc#$@'))), /created ".*" is not an RFC3339 time/);
      await rejects(readEmbeddedManifest(edit((m) => (m.created = '2018-01-01'))), /^Invalid manifest: created "2018-01-01" is not an RFC3339 time$/);
      await rejects(readEmbeddedManifest(edit((m) => (m.created = '2018-01-01T00:00:00.1234567890Z'))), /created/);
      await rejects(readEmbeddedManifest(edit((m) => (m.created = '2018-01-01 00:00:00Z'))), /created/);
    });
    it('created that is not a real date and time', async () => {
      for (const created of [
        '2020-13-45T25:61:61Z',
        '2020-00-10T00:00:00Z',
        '2019-02-29T00:00:00Z',
        '2100-02-29T00:00:00Z',
        '2020-04-31T00:00:00Z',
        '2020-01-01T24:00:00Z',
        '2020-01-01T00:60:00Z',
        '2020-01-01T00:00:60Z',
        '2020-01-01T00:00:00+24:00',
        '2020-01-01T00:00:00-05:60',
      ]) {
        await rejects(
          readEmbeddedManifest(edit((m) => (m.created = created))),
          new RegExp(`^Invalid manifest: created "${created.replace(/[+]/g, '\\+')}" is not an RFC3339 time$`),
        );
      }
      // the edges that do exist
      for (const created of ['2000-02-29T23:59:59Z', '2020-12-31T00:00:00+23:59', '2021-01-31T12:30:00.5-00:00'])
        await readEmbeddedManifest(edit((m) => (m.created = created)));
      await rejects(readEmbeddedManifest(edit((m) => delete m.created)), /created nothing is not an RFC3339 time/);
    });
    it('zero layers', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.layers = []))), /layers must hold 1 to 125 entries, got 0/);
    });
    it('layer 0 is not a block device', async () => {
      await rejects(readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: img }))), /layers\[0\]\.pathInHost .* is not a block device/);
      await rejects(readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: '/dev/zero' }))), /is not a block device/);
    });
    it('a later squashfs layer is a directory', async () => {
      fs.mkdirSync(path.join(img, 'notfile'), { recursive: true });
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = 'notfile'))), /layers\[1\]\.pathInHost .*\/notfile is not a regular file/);
    });
    it('wrong layer digest', async () => {
      const wrong = `sha256:${'7a'.repeat(32)}`;
      await rejects(
        readEmbeddedManifest(edit((m) => (layer(m, 2).digest = wrong))),
        new RegExp(`^Invalid manifest: layers\\[2\\]\\.digest does not match the sha256 of ${img}/app\\.img$`),
      );
    });
    it('layer file missing', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 2).pathInHost = 'kkk'))), /layers\[2\]\.pathInHost .*\/kkk does not exist/);
    });
    it('later layer with an absolute pathInHost', async () => {
      await rejects(
        readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = '/platform.img'))),
        /layers\[1\]\.pathInHost "\/platform\.img" must be a relative path/,
      );
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = ''))), /layers\[1\]\.pathInHost "" must be a relative path/);
    });
    it('pathInContainer not absolute', async () => {
      await rejects(
        readEmbeddedManifest(edit((m) => (layer(m, 2).pathInContainer = 'home/home'))),
        /layers\[2\]\.pathInContainer "home\/home" must be an absolute path/,
      );
      await rejects(readEmbeddedManifest(edit((m) => delete layer(m, 2).pathInContainer)), /layers\[2\]\.pathInContainer "" must be an absolute path/);
    });
    it('layer 0 pathInHost relative', async () => {
      await rejects(
        readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: 'dev/loop0' }))),
        /layers\[0\]\.pathInHost "dev\/loop0" must be an absolute path/,
      );
    });
    it('wrong digest in the sgn file', async () => {
      const file = write(template(), 'sha256:36c7c17757c24fa1e86018c8009f3b98690709236f05910937d59e401d87d6c5');
      await rejects(readEmbeddedManifest(file), new RegExp(`sha256 of ${file} does not match signature file ${signaturePathFor(file)}`));
    });
    it('manifest missing', async () => {
      await rejects(readEmbeddedManifest(path.join(img, 'notexist.manifest')), /^Invalid manifest: .*\/notexist\.manifest does not exist$/);
    });
    it('manifest is /dev/zero', async () => {
      await rejects(readEmbeddedManifest('/dev/zero'), /\/dev\/zero is not a regular file/);
    });
    it('manifest is a directory', async () => {
      await rejects(readEmbeddedManifest(img), /is not a regular file/);
    });
    it('empty manifest', async () => {
      await rejects(readEmbeddedManifest(write('')), /case\d+\.manifest is empty/);
    });
    it('manifest is not JSON', async () => {
      await rejects(readEmbeddedManifest(write('hello\n')), /is not valid JSON/);
      await rejects(readEmbeddedManifest(write('[1, 2]')), /the manifest must be a JSON object/);
      await rejects(readEmbeddedManifest(write(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]))), /is not valid UTF-8 JSON/);
    });
  });

  describe('CI test_invalid_manifest_part2', () => {
    it('sgn file missing', async () => {
      const file = write(template(), 'none');
      await rejects(readEmbeddedManifest(file), new RegExp(`^Manifest's signature file ${signaturePathFor(file)} does not exist$`));
    });
    it('sgn with a trailing newline', async () => {
      const text = `${JSON.stringify(template())}\n`;
      const file = write(text, `${sha256(text)}\n`);
      await rejects(
        readEmbeddedManifest(file),
        new RegExp(`^Invalid signature file ${signaturePathFor(file)}: want sha256:<64 lowercase hex> without a newline$`),
      );
    });
    it('sgn with upper-case hex, no prefix, or a directory', async () => {
      const text = `${JSON.stringify(template())}\n`;
      await rejects(readEmbeddedManifest(write(text, sha256(text).toUpperCase().replace('SHA256', 'sha256'))), /Invalid signature file/);
      await rejects(readEmbeddedManifest(write(text, sha256(text).slice('sha256:'.length))), /Invalid signature file/);
      const file = write(text, 'none');
      fs.mkdirSync(signaturePathFor(file));
      await rejects(readEmbeddedManifest(file), /Invalid signature file/);
    });
    it('schemaVersion removed or wrong', async () => {
      await rejects(readEmbeddedManifest(edit((m) => delete m.schemaVersion)), /schemaVersion must be 1, got nothing/);
      await rejects(readEmbeddedManifest(edit((m) => (m.schemaVersion = 2))), /schemaVersion must be 1, got 2/);
      await rejects(readEmbeddedManifest(edit((m) => (m.schemaVersion = '1'))), /schemaVersion must be 1, got "1"/);
    });
    it('manifest mediaType altered', async () => {
      await rejects(
        readEmbeddedManifest(edit((m) => (m.mediaType = 'application/invalid.manifest+json'))),
        /mediaType must be "application\/embedded\.manifest\+json"/,
      );
    });
    it('layer mediaType altered', async () => {
      const m = template();
      for (const l of m.layers as Json[]) l.mediaType = 'application/invalid.image.rootfs.diff.img';
      await rejects(readEmbeddedManifest(write(m)), /layers\[0\]\.mediaType must be/);
      await rejects(readEmbeddedManifest(edit((x) => (layer(x, 2).mediaType = 'application/vnd.oci.image.layer.v1.tar'))), /layers\[2\]\.mediaType must be/);
    });
    it('negative or fractional size', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).size = -823))), /layers\[1\]\.size must be a non-negative integer, got -823/);
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).size = 1.5))), /layers\[1\]\.size/);
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).size = '823'))), /layers\[1\]\.size/);
    });
    it('layer 0 digest not empty', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 0).digest = 'a'))), /layers\[0\]\.digest must be empty, got "a"/);
    });
    it('layer 0 pathInContainer not empty', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 0).pathInContainer = 'a'))), /layers\[0\]\.pathInContainer must be empty, got "a"/);
    });
  });

  describe('other field rules', () => {
    it('bind.dir layer 0 must be exactly /', async () => {
      await rejects(readEmbeddedManifest(write(template({ mediaType: LAYER_DIR, pathInHost: '/tmp' }))), /layers\[0\]\.pathInHost must be "\/"/);
    });
    it('layer 0 device missing', async () => {
      await rejects(
        readEmbeddedManifest(write(template({ mediaType: LAYER_SQUASHFS, pathInHost: '/dev/no-such-device' }))),
        /layers\[0\]\.pathInHost \/dev\/no-such-device does not exist/,
      );
    });
    it('a bind.dir layer must be a directory and carry no digest', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).mediaType = LAYER_DIR))), /layers\[1\]\.digest must be empty for application\/bind/);
      await rejects(readEmbeddedManifest(edit((m) => Object.assign(layer(m, 1), { mediaType: LAYER_DIR, digest: '' }))), /platform\.img is not a directory/);
    });
    it('malformed layer digest', async () => {
      await rejects(
        readEmbeddedManifest(edit((m) => (layer(m, 1).digest = `sha256:${'A'.repeat(64)}`))),
        /layers\[1\]\.digest ".*" is not sha256:<64 lowercase hex>/,
      );
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).digest = 'md5:abc'))), /layers\[1\]\.digest/);
    });
    it('more than 125 layers', async () => {
      const m = template();
      const layers = m.layers as Json[];
      while (layers.length < 126) layers.push({ ...layers[2] });
      await rejects(readEmbeddedManifest(write(m)), /layers must hold 1 to 125 entries, got 126/);
      await rejects(readEmbeddedManifest(edit((x) => delete x.layers)), /layers must be an array/);
    });
    it('imageName missing, not a string, or too long', async () => {
      await rejects(readEmbeddedManifest(edit((m) => delete m.imageName)), /imageName is required/);
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = 5))), /imageName must be a string, got 5/);
      await rejects(readEmbeddedManifest(edit((m) => (m.imageName = `${'a'.repeat(253)}:v1`))), /is not a valid name:tag/);
    });
    it('config field types', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.config = []))), /config must be a JSON object/);
      await rejects(readEmbeddedManifest(edit((m) => (m.config = { ENV: 'a=b' }))), /config\.ENV must be an array of strings/);
      await rejects(readEmbeddedManifest(edit((m) => (m.config = { ENTRYPOINT: ['/bin/ls', 1] }))), /config\.ENTRYPOINT must be an array of strings/);
      await rejects(readEmbeddedManifest(edit((m) => (m.config = { WORKDIR: ['/'] }))), /config\.WORKDIR must be a string/);
    });
    it('unknown keys are named', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (m.annotations = {}))), /^Invalid manifest: unknown key "annotations"$/);
      await rejects(readEmbeddedManifest(edit((m) => (m.config = { CMD: ['x'], USER: 'u' }))), /unknown key "config\.CMD", "config\.USER"/);
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).path = 'x'))), /unknown key "layers\[1\]\.path"/);
    });
    it('layer string fields must be strings', async () => {
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).pathInHost = 7))), /layers\[1\]\.pathInHost must be a string, got 7/);
      await rejects(readEmbeddedManifest(edit((m) => (layer(m, 1).digest = null))), /layers\[1\]\.digest must be a string, got null/);
    });
  });
});
