import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { show } from '../helpers/cli.js';
import { ISULA, TestEngine, type RunResult } from '../helpers/engine.js';
import { busyboxImage, HARDLINK_CONTENT } from '../helpers/oci-images.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * load / save / import / export end to end with the real daemon: archives written by skopeo
 * (an independent implementation) from the busybox test image, the daemon's own save read
 * back by skopeo and by load, export → import → run, and hostile archives refused with
 * nothing added.
 */

const skopeo = (...args: string[]): string => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ok = (r: RunResult, what = ''): string => {
  assert.equal(r.code, 0, `${what}\n${show(r)}`);
  return r.stdout;
};
/** Listing of a tar file by GNU tar, names without a leading `./`. */
const tarNames = (file: string): string[] =>
  execFileSync('tar', ['-tf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .filter(Boolean)
    .map((n) => n.replace(/^\.\//, '').replace(/\/$/, ''));

let engine: TestEngine;
let dir = '';
const sh = (script: string): RunResult => {
  try {
    return { code: 0, stdout: execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, ISULA, HOST: engine.host } }), stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: String(err.stdout), stderr: String(err.stderr) };
  }
};
const isula = (...args: string[]): Promise<RunResult> => engine.isula(args, { timeoutMs: 120_000 });
const imageIds = async (): Promise<string[]> =>
  ok(await isula('images', '-q'))
    .split('\n')
    .filter(Boolean)
    .sort();

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-archive-'));
  engine = await TestEngine.start();
});
after(async () => {
  await engine?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('load, save, import, export of OCI images', () => {
  let id = '';

  it('loads a docker-archive with two names, printing each', async () => {
    const file = path.join(dir, 'docker.tar');
    skopeo('copy', '--additional-tag', 'arch/busybox:2', busyboxImage().ociRef, `docker-archive:${file}:arch/busybox:1`);
    const out = ok(await isula('load', '-i', file), 'load docker-archive');
    assert.deepEqual(out.trim().split('\n'), ['Loaded image: arch/busybox:1', 'Loaded image: arch/busybox:2']);
    const inspect = JSON.parse(ok(await isula('inspect', 'arch/busybox:1'))) as [{ Id: string; RootFS: { Layers: string[] } }];
    id = inspect[0].Id;
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(inspect[0].RootFS.Layers.length, 3);
    assert.equal(ok(await isula('run', '--rm', 'arch/busybox:2', 'cat', '/hardlink')), HARDLINK_CONTENT);
  });

  it('loads an oci-archive of the same image: the same id, one more name', async () => {
    const file = path.join(dir, 'oci.tar');
    skopeo('copy', busyboxImage().ociRef, `oci-archive:${file}:arch/oci:1`);
    assert.equal(ok(await isula('load', '-i', file)).trim(), 'Loaded image: arch/oci:1');
    const inspect = JSON.parse(ok(await isula('inspect', 'arch/oci:1'))) as [{ Id: string }];
    assert.equal(inspect[0].Id, id);
  });

  it('saves an image that skopeo reads, and loads it back with the same id', async () => {
    const file = path.join(dir, 'saved.tar');
    ok(await isula('save', '-o', file, 'arch/busybox:1'), 'save');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
      'no temp file left',
    );
    const seen = JSON.parse(skopeo('inspect', `docker-archive:${file}`)) as { Layers: string[]; Digest: string };
    const inspect = JSON.parse(ok(await isula('inspect', 'arch/busybox:1'))) as [{ RootFS: { Layers: string[] } }];
    assert.deepEqual(seen.Layers, inspect[0].RootFS.Layers);
    // skopeo copies it out, checking every blob against its digest.
    skopeo('copy', `docker-archive:${file}`, `oci:${path.join(dir, 'copied')}:x`);
    // Saved to stdout too (not a terminal here), byte for byte the same archive.
    ok(sh(`"$ISULA" -H "$HOST" save arch/busybox:1 > ${dir}/stdout.tar`), 'save to stdout');
    assert.deepEqual(fs.readFileSync(path.join(dir, 'stdout.tar')), fs.readFileSync(file));
    for (const n of ['arch/busybox:1', 'arch/busybox:2', 'arch/oci:1']) ok(await isula('rmi', n), `rmi ${n}`);
    assert.equal((await isula('inspect', 'arch/busybox:1')).code !== 0, true);
    assert.equal(ok(await isula('load', '-i', file)).trim(), 'Loaded image: arch/busybox:1');
    const back = JSON.parse(ok(await isula('inspect', 'arch/busybox:1'))) as [{ Id: string }];
    assert.equal(back[0].Id, id);
    // --tag names the one image of the archive instead of its own names.
    assert.equal(ok(await isula('load', '-i', file, '--tag', 'renamed:1')).trim(), 'Loaded image: renamed:1');
    ok(await isula('rmi', 'renamed:1'));
  });

  it('exports a container (merged: whiteouts applied), imports it, and runs the imported image', async () => {
    const cid = ok(await isula('create', '--name', 'exp', 'arch/busybox:1', 'sh', '-c', 'echo hi')).trim();
    assert.ok(cid);
    const file = path.join(dir, 'exp.tar');
    ok(await isula('export', '-o', file, 'exp'), 'export a created container');
    const names = tarNames(file);
    assert.ok(names.includes('hardlink'), 'hardlink exported');
    assert.ok(names.includes('bin/busybox'));
    assert.ok(!names.includes('deleted-file'), 'the whiteout is applied');
    assert.ok(!names.some((n) => path.basename(n).startsWith('.wh.')), 'no whiteout files');
    assert.deepEqual(
      names.filter((n) => n.startsWith('opaque-dir/')),
      ['opaque-dir/new-file'],
    );
    // To stdout, as the acceptance writes it.
    ok(sh(`"$ISULA" -H "$HOST" export exp > ${dir}/exp2.tar`), 'export to stdout');
    assert.deepEqual(tarNames(path.join(dir, 'exp2.tar')), names);

    // A running container too (the acceptance's `isula export web`).
    ok(await isula('run', '-d', '--name', 'live', 'arch/busybox:1', 'sleep', '1000'));
    ok(await isula('export', '-o', path.join(dir, 'live.tar'), 'live'), 'export a running container');
    assert.ok(tarNames(path.join(dir, 'live.tar')).includes('hardlink'));
    ok(await isula('rm', '-f', 'live'));

    const imported = ok(await isula('import', file, 'flat:1'), 'import').trim();
    assert.match(imported, /^sha256:[0-9a-f]{64}$/);
    const inspect = JSON.parse(ok(await isula('inspect', 'flat:1'))) as [{ Id: string; RootFS: { Layers: string[] }; Os: string }];
    assert.equal(inspect[0].Id, imported);
    assert.equal(inspect[0].RootFS.Layers.length, 1);
    assert.equal(ok(await isula('run', '--rm', 'flat:1', 'cat', '/hardlink')), HARDLINK_CONTENT);
    // From stdin (Docker's `-`), gzip-compressed this time.
    const byStdin = ok(sh(`gzip -c ${file} | "$ISULA" -H "$HOST" import - flat:2`), 'import -').trim();
    assert.match(byStdin, /^sha256:[0-9a-f]{64}$/);
    const history = ok(await isula('history', 'flat:2'));
    assert.match(history, /Imported from -/);
    ok(await isula('rm', 'exp'));
  });

  it('saves and loads a multi-image archive: every image, every name', async () => {
    const file = path.join(dir, 'multi.tar');
    ok(await isula('save', '-o', file, 'arch/busybox:1', 'flat:1'), 'save two images');
    const before = await imageIds();
    for (const n of ['arch/busybox:1', 'flat:1']) ok(await isula('rmi', n), `rmi ${n}`);
    // From stdin without -i, as Docker's load.
    const out = ok(sh(`"$ISULA" -H "$HOST" load < ${file}`), 'load from stdin')
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(out, ['Loaded image: arch/busybox:1', 'Loaded image: flat:1']);
    assert.deepEqual(await imageIds(), before);
    // --tag is for a one-image archive only.
    const r = await isula('load', '-i', file, '--tag', 'x:1');
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /--tag needs an archive with one image/);
  });

  it('refuses hostile and broken archives, adding nothing', async () => {
    const before = await imageIds();
    const layersBefore = fs.readdirSync(path.join(engine.root, 'storage', 'overlay-layers')).sort();
    const good = path.join(dir, 'good');
    fs.mkdirSync(good);
    execFileSync('tar', ['-xf', path.join(dir, 'saved.tar'), '-C', good]);
    const manifest = JSON.parse(fs.readFileSync(path.join(good, 'manifest.json'), 'utf8')) as [{ Config: string; Layers: string[]; RepoTags: string[] }];
    const variant = (name: string, edit: (d: string) => void): string => {
      const d = path.join(dir, name);
      fs.cpSync(good, d, { recursive: true });
      edit(d);
      const file = `${d}.tar`;
      execFileSync('tar', ['-cf', file, '-C', d, '.']);
      return file;
    };
    const cases: [string, string, RegExp][] = [
      [
        'outside',
        variant('outside', (d) =>
          fs.writeFileSync(
            path.join(d, 'manifest.json'),
            JSON.stringify([{ ...manifest[0], RepoTags: ['bad:1'], Layers: [...manifest[0].Layers.slice(0, 2), '../../../../etc/passwd'] }]),
          ),
        ),
        /outside the archive/,
      ],
      ['huge', variant('huge', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), Buffer.alloc(5 * 1024 * 1024, 0x20))), /over the limit/],
      ['missing', variant('missing', (d) => fs.rmSync(path.join(d, manifest[0].Layers[2]!))), /is missing from the archive/],
      [
        'mismatch',
        variant('mismatch', (d) => {
          // The top layer replaced by another tar: its diff_id no longer holds.
          execFileSync('tar', ['-cf', path.join(d, manifest[0].Layers[2]!), '-C', d, 'oci-layout']);
        }),
        /does not match diff_id/,
      ],
    ];
    for (const [what, file, message] of cases) {
      const r = await isula('load', '-i', file);
      assert.equal(r.code, 1, `${what}: ${show(r)}`);
      assert.match(r.stderr, message, what);
    }
    assert.deepEqual(await imageIds(), before);
    assert.deepEqual(fs.readdirSync(path.join(engine.root, 'storage', 'overlay-layers')).sort(), layersBefore);
    const missing = await isula('load', '-i', path.join(dir, 'no-such.tar'));
    assert.equal(missing.code, 1, show(missing));
  });
});

describe('export of an external rootfs container', () => {
  it('exports the rootfs directory as it is', async () => {
    const rootfs = busyboxRootfs();
    ok(await isula('create', '--name', 'ext', '--external-rootfs', rootfs, 'none', 'true'));
    const file = path.join(dir, 'ext.tar');
    ok(await isula('export', '--output', file, 'ext'));
    assert.ok(tarNames(file).includes('bin/busybox'));
    ok(await isula('rm', 'ext'));
    const r = await isula('export', 'no-such-container');
    assert.notEqual(r.code, 0);
  });
});
