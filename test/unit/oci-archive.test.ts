// The archive readers and writer against archives skopeo writes and reads (an independent
// implementation), and against hostile archives built here byte by byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readImageArchive } from '../../src/image/oci/archive/reader.js';
import { cleanMemberName } from '../../src/image/oci/archive/tar-index.js';
import { type SaveImage, ustarHeader, writeDockerArchive } from '../../src/image/oci/archive/writer.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function bytesOf(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

interface Entry {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'dir' | 'symlink';
  linkname?: string;
}

/** A tar made entry by entry, names as given (hostile ones included). */
function tarOf(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(ustarHeader(e.name, data.length, e.type ?? 'file', e.linkname), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

let dir = '';
let layout = '';
const has = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const noTools = has('umoci') && has('skopeo') ? false : 'umoci or skopeo missing';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-oci-archive-'));
  if (noTools) return;
  // A two-layer image: a file, then a second file and a symlink.
  layout = path.join(dir, 'layout');
  const run = (...args: string[]): void => void execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });
  run('umoci', 'init', '--layout', layout);
  run('umoci', 'new', '--image', `${layout}:t`);
  for (const [i, file] of ['one', 'two'].entries()) {
    const bundle = path.join(dir, `bundle${i}`);
    run('umoci', 'unpack', '--rootless', '--image', `${layout}:t`, bundle);
    fs.writeFileSync(path.join(bundle, 'rootfs', file), `${file}\n`.repeat(1000));
    if (i === 1) fs.symlinkSync('/etc/passwd', path.join(bundle, 'rootfs', 'abs-link'));
    run('umoci', 'repack', '--image', `${layout}:t`, bundle);
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('reading archives skopeo wrote', { skip: noTools }, () => {
  it('reads a docker-archive with two names and streams layers matching their diff_ids', async () => {
    const file = path.join(dir, 'd.tar');
    skopeo('copy', '--additional-tag', 'other/name:2', `oci:${layout}:t`, `docker-archive:${file}:test/img:1`);
    const ar = await readImageArchive(file);
    try {
      assert.equal(ar.format, 'docker-archive');
      assert.equal(ar.images.length, 1);
      const img = ar.images[0]!;
      assert.deepEqual(img.names, ['docker.io/test/img:1', 'docker.io/other/name:2']);
      assert.equal(img.id, sha256(img.source.configBytes));
      assert.equal(img.source.layers.length, 2);
      for (const l of img.source.layers) {
        const bytes = await bytesOf(await l.open());
        assert.equal(sha256(bytes), l.diffId);
        assert.equal(l.descriptor.size, bytes.length);
      }
    } finally {
      await ar.close();
    }
  });

  it('reads a gzip-compressed docker-archive through a temp file it removes at once', async () => {
    const gz = path.join(dir, 'd.tar.gz');
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(path.join(dir, 'd.tar'))));
    const tmp = path.join(dir, 'tmp');
    const ar = await readImageArchive(gz, tmp);
    try {
      assert.deepEqual(fs.readdirSync(tmp), []);
      const layer = ar.images[0]!.source.layers[0]!;
      assert.equal(sha256(await bytesOf(await layer.open())), layer.diffId);
    } finally {
      await ar.close();
    }
    fs.writeFileSync(gz, Buffer.concat([gzipSync(Buffer.from('x')).subarray(0, 12)]));
    await assert.rejects(readImageArchive(gz, tmp), /not valid gzip/);
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  it('reads an oci-archive, with its ref name, its gzip layers checked against their digests', async () => {
    const file = path.join(dir, 'o.tar');
    skopeo('copy', `oci:${layout}:t`, `oci-archive:${file}:test/img:1`);
    const ar = await readImageArchive(file);
    try {
      assert.equal(ar.format, 'oci-archive');
      assert.deepEqual(ar.images[0]!.names, ['test/img:1']);
      const layer = ar.images[0]!.source.layers[1]!;
      assert.match(layer.descriptor.mediaType, /gzip/);
      assert.equal(sha256(await bytesOf(await layer.open())), layer.descriptor.digest);
    } finally {
      await ar.close();
    }
  });

  it('writes a docker-archive that skopeo reads, and reads it back to the same image and layers', async () => {
    const src = await readImageArchive(path.join(dir, 'd.tar'));
    const file = path.join(dir, 'saved.tar');
    try {
      const img = src.images[0]!;
      const save: SaveImage = {
        configBytes: img.source.configBytes,
        config: img.source.config,
        names: [{ full: 'docker.io/library/saved:1', familiar: 'saved:1' }],
        layers: img.source.layers.map((l) => ({ diffId: l.diffId, size: l.descriptor.size, open: () => l.open() })),
      };
      const out = fs.createWriteStream(file);
      for await (const chunk of writeDockerArchive([save])) out.write(chunk);
      await new Promise((r) => out.end(r));
      const inspect = JSON.parse(skopeo('inspect', `docker-archive:${file}`)) as { Layers: string[]; RepoTags: string[] };
      assert.deepEqual(inspect.Layers, img.source.config.rootfs.diff_ids);
      // skopeo copies it to a directory, checking every blob.
      skopeo('copy', `docker-archive:${file}`, `dir:${path.join(dir, 'copied')}`);
      const back = await readImageArchive(file);
      try {
        assert.equal(back.images[0]!.id, img.id);
        assert.deepEqual(back.images[0]!.names, ['saved:1']);
      } finally {
        await back.close();
      }
    } finally {
      await src.close();
    }
  });

  it('reads a multi-image archive: every image, every name', async () => {
    const a = await readImageArchive(path.join(dir, 'd.tar'));
    const file = path.join(dir, 'multi.tar');
    try {
      const img = a.images[0]!;
      const layers = img.source.layers.map((l) => ({ diffId: l.diffId, size: l.descriptor.size, open: () => l.open() }));
      // A second image: the same layers under another config.
      const config2 = { ...img.source.config, author: 'second' };
      const bytes2 = Buffer.from(JSON.stringify(config2));
      const out = fs.createWriteStream(file);
      const images: SaveImage[] = [
        {
          configBytes: img.source.configBytes,
          config: img.source.config,
          layers,
          names: [
            { full: 'x/a:1', familiar: 'x/a:1' },
            { full: 'x/a:2', familiar: 'x/a:2' },
          ],
        },
        { configBytes: bytes2, config: config2, layers, names: [] },
      ];
      for await (const chunk of writeDockerArchive(images)) out.write(chunk);
      await new Promise((r) => out.end(r));
    } finally {
      await a.close();
    }
    const m = await readImageArchive(file);
    try {
      assert.equal(m.images.length, 2);
      assert.deepEqual(m.images[0]!.names, ['x/a:1', 'x/a:2']);
      assert.deepEqual(m.images[1]!.names, []);
    } finally {
      await m.close();
    }
  });
});

describe('save of a damaged layer', () => {
  it('fails instead of writing a layer that does not match its diff_id', async () => {
    const tar = tarOf([{ name: 'f', data: 'f' }]);
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' as const, diff_ids: [sha256(Buffer.from('other'))] } };
    const image: SaveImage = {
      configBytes: Buffer.from(JSON.stringify(config)),
      config,
      names: [],
      layers: [{ diffId: config.rootfs.diff_ids[0]!, size: tar.length, open: async () => Readable.from([tar]) }],
    };
    await assert.rejects(async () => {
      for await (const _ of writeDockerArchive([image]));
    }, /in the store is damaged/);
  });
});

describe('hostile and broken archives', () => {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const write = (name: string, data: Buffer): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };
  const refused = async (file: string, message: RegExp): Promise<void> => {
    await assert.rejects(readImageArchive(file), message);
  };

  it('refuses a member path outside the archive', async () => {
    await refused(write('h1.tar', tarOf([{ name: '../x', data: 'x' }])), /points outside the archive/);
    await refused(write('h2.tar', tarOf([{ name: '/etc/x', data: 'x' }])), /absolute path/);
    assert.equal(cleanMemberName('./a/../b/'), 'b');
  });

  it('refuses a manifest.json naming a layer outside the archive', async () => {
    const layer = tarOf([{ name: 'f', data: 'f' }]);
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['../../../etc/passwd'] }]);
    await refused(
      write(
        'h3.tar',
        tarOf([
          { name: 'manifest.json', data: manifest },
          { name: 'c.json', data: cfg },
        ]),
      ),
      /points outside the archive/,
    );
  });

  it('refuses a layer that is a symlink out of the archive', async () => {
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(Buffer.from('x'))] } }));
    const manifest = JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['l/layer.tar'] }]);
    const entries: Entry[] = [
      { name: 'manifest.json', data: manifest },
      { name: 'c.json', data: cfg },
    ];
    await refused(write('h4.tar', tarOf([...entries, { name: 'l/layer.tar', type: 'symlink', linkname: '/etc/passwd' }])), /absolute path/);
    await refused(write('h5.tar', tarOf([...entries, { name: 'l/layer.tar', type: 'symlink', linkname: '../../x' }])), /outside the archive/);
  });

  it('refuses a manifest.json over 4 MiB, a missing layer, a config not matching its digest, a layer not matching its diff_id', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    await refused(write('h6.tar', tarOf([{ name: 'manifest.json', data: big }])), /over the limit/);
    const layer = tarOf([{ name: 'f', data: 'f' }]);
    const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = (cfgName: string) => JSON.stringify([{ Config: cfgName, RepoTags: ['a:1'], Layers: ['l.tar'] }]);
    await refused(
      write(
        'h7.tar',
        tarOf([
          { name: 'manifest.json', data: manifest('c.json') },
          { name: 'c.json', data: cfg },
        ]),
      ),
      /layer 0 of manifest.json entry 0 \(l.tar\) is missing/,
    );
    const wrongHex = 'a'.repeat(64);
    await refused(
      write(
        'h8.tar',
        tarOf([
          { name: 'manifest.json', data: manifest(`${wrongHex}.json`) },
          { name: `${wrongHex}.json`, data: cfg },
          { name: 'l.tar', data: layer },
        ]),
      ),
      /does not match its digest/,
    );
    await refused(
      write(
        'h9.tar',
        tarOf([
          { name: 'manifest.json', data: manifest('c.json') },
          { name: 'c.json', data: cfg },
          { name: 'l.tar', data: tarOf([{ name: 'g', data: 'other' }]) },
        ]),
      ),
      /does not match diff_id/,
    );
    // And the good one is read.
    const ok = await readImageArchive(
      write(
        'ok.tar',
        tarOf([
          { name: 'manifest.json', data: manifest('c.json') },
          { name: 'c.json', data: cfg },
          { name: 'l.tar', data: layer },
        ]),
      ),
    );
    assert.deepEqual(ok.images[0]!.names, ['a:1']);
    await ok.close();
  });

  it('refuses an oci-archive whose blob is missing or does not match its digest', async () => {
    const cfgDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfgDesc, layers: [] }));
    const index = (m: Buffer) =>
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(m), size: m.length }] });
    const base: Entry[] = [{ name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }];
    await refused(write('o1.tar', tarOf([...base, { name: 'index.json', data: index(manifest) }])), /blob sha256:[0-9a-f]{64} is missing/);
    const tampered = Buffer.from(manifest.toString().replace('"layers"', '"layerz"'));
    await refused(
      write('o2.tar', tarOf([...base, { name: 'index.json', data: index(manifest) }, { name: `blobs/sha256/${sha256(manifest).slice(7)}`, data: tampered }])),
      /does not match its digest/,
    );
  });

  it('refuses something that is not an archive', async () => {
    await refused(write('n1.tar', Buffer.from('hello world\n'.repeat(100))), /not a tar archive|ends inside/);
    await refused(write('n2.tar', tarOf([{ name: 'x', data: 'y' }])), /neither a docker-archive/);
  });
});
