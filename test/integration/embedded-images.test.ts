import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestEngine, type RunResult } from '../helpers/engine.js';

/**
 * Embedded images end to end (iSulad CI/test_cases/image_cases/embedded.sh): `isula load -t
 * embedded`, images / inspect / rmi, containers on an ext4 rootfs on a loop device with a
 * read-only squashfs app layer, and every rejection going through the real CLI.
 */

const SCRIPT = path.resolve('rootfs-samples/embedded-image.sh');

type Json = Record<string, unknown>;
type Layer = { mediaType: string; size: number; digest: string; pathInHost: string; pathInContainer: string };
type Manifest = Json & { imageName: string; created: string; config: Json; layers: Layer[] };

const sha256hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** A private image directory built by embedded-image.sh (its rootfs.img is on a loop device). */
class Fixture {
  readonly root: string;
  readonly img: string;
  readonly manifest: string;
  readonly appImg: string;
  readonly loop: string;
  private seq = 0;
  private readonly built: string[] = [];

  constructor(label: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `isulad-test-emb-${label}-`));
    this.img = path.join(this.root, 'img');
    this.manifest = this.build(this.img);
    this.appImg = path.join(this.img, 'app.img');
    this.loop = this.read().layers[0]!.pathInHost;
    assert.match(this.loop, /^\/dev\/loop\d+$/);
  }

  /** Runs embedded-image.sh on `dir`; returns the manifest path it prints last. */
  build(dir: string, name?: string): string {
    this.built.push(dir);
    const out = execFileSync(SCRIPT, [...(name ? ['--name', name] : []), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n').pop()!;
  }

  read(file = this.manifest): Manifest {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  }

  /**
   * A new directory `case-N/` holding a copy of app.img and a manifest derived from the
   * fixture's (named `rej:v1` unless the edit changes it, so a wrongly accepted manifest
   * shows up as a new image rather than as a name conflict), signed unless told otherwise.
   */
  variant(edit: (m: Manifest) => void = () => {}, opts: { sgn?: 'match' | 'none' | string; raw?: string } = {}): string {
    const dir = path.join(this.root, `case-${++this.seq}`);
    fs.mkdirSync(dir);
    fs.copyFileSync(this.appImg, path.join(dir, 'app.img'));
    const m = this.read();
    m.imageName = 'rej:v1';
    edit(m);
    const file = path.join(dir, 'test.manifest');
    fs.writeFileSync(file, opts.raw ?? `${JSON.stringify(m, null, 4)}\n`);
    const sgn = opts.sgn ?? 'match';
    if (sgn === 'match') sign(file);
    else if (sgn !== 'none') fs.writeFileSync(path.join(dir, 'test.sgn'), sgn);
    return file;
  }

  /** Detaches every loop device this fixture attached and removes its directory. */
  remove(): void {
    for (const dir of this.built) execFileSync(SCRIPT, ['--detach', dir], { stdio: 'ignore' });
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** (Re)writes `<dir>/<base>.sgn` = `sha256:<hex of the manifest>` without a newline. */
function sign(manifest: string): void {
  fs.writeFileSync(manifest.replace(/\.manifest$/, '.sgn'), `sha256:${sha256hex(fs.readFileSync(manifest))}`);
}

function writeManifest(file: string, m: Manifest): void {
  fs.writeFileSync(file, `${JSON.stringify(m, null, 4)}\n`);
  sign(file);
}

/** Loop devices whose backing file path is `file` (as `losetup -a` shows them). */
function loopsBackedBy(file: string): string[] {
  const out = execFileSync('losetup', ['-a'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`(${file})`) || l.includes(`(${file} (deleted))`));
}

/** Host mounts whose mount point is under `dir` and mentions `id`. */
function mountsOf(dir: string, id: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => {
      const mp = l.split(' ')[4] ?? '';
      return mp.startsWith(`${dir}/`) && mp.includes(id);
    });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const ok = (r: RunResult, what = ''): void => assert.equal(r.code, 0, `${what} exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
const lines = (s: string): string[] => s.split('\n').filter(Boolean);

async function load(engine: TestEngine, manifest: string): Promise<RunResult> {
  return engine.isula(['load', '-i', manifest, '-t', 'embedded']);
}

/** The parsed `isula inspect IMAGE` output (an array of one, like every inspect). */
function inspected(r: RunResult): Json {
  const v = JSON.parse(r.stdout) as unknown;
  return (Array.isArray(v) ? v[0] : v) as Json;
}

describe('embedded images: load, images, inspect', () => {
  let engine: TestEngine;
  let fx: Fixture;
  before(async () => {
    fx = new Fixture('load');
    engine = await TestEngine.start();
  });
  after(async () => {
    await engine.cleanup();
    fx.remove();
  });

  it('isula images is empty before any load', async () => {
    const r = await engine.isula(['images']);
    ok(r);
    assert.deepEqual(lines(r.stdout).length, 1, r.stdout);
    assert.match(r.stdout, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE/);
  });

  it('load -t embedded exits 0 and names the manifest', async () => {
    const r = await load(engine, fx.manifest);
    ok(r, 'load');
    assert.match(r.stdout, new RegExp(`Load image from "${fx.manifest}" success`));
  });

  it('loading the same manifest again is idempotent (exit 0, still one image)', async () => {
    ok(await load(engine, fx.manifest), 'second load');
    const r = await engine.isula(['images']);
    ok(r);
    assert.equal(lines(r.stdout).length, 2, r.stdout);
  });

  it('a relative -i path is taken from the cwd of the client', async () => {
    const r = await load(engine, path.relative(process.cwd(), fx.manifest));
    ok(r, 'relative load');
    assert.equal(lines((await engine.isula(['images'])).stdout).length, 2);
  });

  it('isula images lists REPOSITORY test TAG v1 with the manifest digest as id', async () => {
    const r = await engine.isula(['images']);
    ok(r);
    const id = sha256hex(fs.readFileSync(fx.manifest)).slice(0, 12);
    assert.match(r.stdout, new RegExp(`^test +v1 +${id} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+`, 'm'));
  });

  it('isula images -q prints only the short id', async () => {
    const r = await engine.isula(['images', '-q']);
    ok(r);
    assert.equal(r.stdout, `${sha256hex(fs.readFileSync(fx.manifest)).slice(0, 12)}\n`);
  });

  it('isula inspect test:v1 returns the manifest', async () => {
    const r = await engine.isula(['inspect', 'test:v1']);
    ok(r, 'inspect');
    assert.deepEqual(inspected(r), fx.read());
  });

  it('isula inspect -f reads a manifest field; a missing image fails', async () => {
    const r = await engine.isula(['inspect', '-f', '{{.imageName}}', 'test:v1']);
    ok(r, 'inspect -f');
    assert.equal(r.stdout.trim(), 'test:v1');
    const missing = await engine.isula(['inspect', 'nonexistentname1:v1']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nonexistentname1:v1/);
  });

  it('rmi test:v1 removes it; a reload brings it back (CI test_load_image)', async () => {
    const r = await engine.isula(['rmi', 'test:v1']);
    ok(r, 'rmi');
    assert.equal(lines((await engine.isula(['images'])).stdout).length, 1);
    assert.notEqual((await engine.isula(['inspect', 'test:v1'])).code, 0);
    ok(await load(engine, fx.manifest), 'reload');
    assert.match((await engine.isula(['images'])).stdout, /^test +v1 /m);
    ok(await engine.isula(['rmi', 'test:v1']), 'rmi again');
  });
});

describe('embedded images: running containers', () => {
  let engine: TestEngine;
  let fx: Fixture;
  let epManifest = '';
  before(async () => {
    fx = new Fixture('run');
    // A second image, ep:v1, whose manifest sets ENTRYPOINT and WORKDIR (edited, then re-signed).
    epManifest = fx.build(path.join(fx.root, 'ep'), 'ep:v1');
    const m = fx.read(epManifest);
    m.config.ENTRYPOINT = ['/bin/ls', '/app'];
    m.config.WORKDIR = '/app';
    writeManifest(epManifest, m);
    engine = await TestEngine.start();
    ok(await load(engine, fx.manifest), 'load test:v1');
    ok(await load(engine, epManifest), 'load ep:v1');
  });
  after(async () => {
    await engine.cleanup();
    fx.remove();
  });

  it('both images are listed', async () => {
    const r = await engine.isula(['images']);
    assert.match(r.stdout, /^test +v1 /m);
    assert.match(r.stdout, /^ep +v1 /m);
  });

  it('run of an unknown image fails', async () => {
    const r = await engine.isula(['run', '--rm', 'nonexistentname1:v1', 'ls']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nonexistentname1:v1/);
  });

  it('the app layer is mounted at /app: ls lists hello.sh and VERSION', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'ls', '/app']);
    ok(r, 'run ls');
    assert.deepEqual(lines(r.stdout).sort(), ['VERSION', 'hello.sh']);
  });

  it('the app layer content is usable: hello.sh runs, VERSION reads 1.0', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'sh', '-c', '/app/hello.sh && cat /app/VERSION']);
    ok(r, 'run hello');
    assert.equal(r.stdout, 'hello from the embedded app layer\n1.0\n');
  });

  it('the app layer is read-only: a write fails', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'touch', '/app/new-file']);
    assert.notEqual(r.code, 0, 'writing into the squashfs layer must fail');
    assert.match(r.stdout + r.stderr, /Read-only file system/);
    ok(await engine.isula(['run', '--rm', 'test:v1', 'test', '!', '-e', '/app/new-file']), 'nothing was written');
  });

  it('ENV from the manifest is applied: $c is "d e"', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'sh', '-c', 'echo $c']);
    ok(r);
    assert.equal(r.stdout, 'd e\n');
  });

  it('a user -e wins over the manifest ENV', async () => {
    const r = await engine.isula(['run', '--rm', '-e', 'c=x', 'test:v1', 'sh', '-c', 'echo $c']);
    ok(r);
    assert.equal(r.stdout, 'x\n');
  });

  it('the manifest PATH is in the environment', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'sh', '-c', 'echo $PATH']);
    ok(r);
    assert.equal(r.stdout, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  it('ENTRYPOINT from the manifest runs when no command is given', async () => {
    const r = await engine.isula(['run', '--rm', 'ep:v1']);
    ok(r, 'run ep:v1');
    assert.deepEqual(lines(r.stdout).sort(), ['VERSION', 'hello.sh']);
  });

  it('arguments are appended to the manifest ENTRYPOINT', async () => {
    const r = await engine.isula(['run', '--rm', 'ep:v1', '/bin/busybox']);
    ok(r, 'run ep:v1 /bin/busybox');
    assert.match(r.stdout, /^\/app:$/m);
    assert.match(r.stdout, /^\/bin\/busybox$/m);
  });

  it('--entrypoint overrides the manifest ENTRYPOINT', async () => {
    const r = await engine.isula(['run', '--rm', '--entrypoint', '/bin/echo', 'ep:v1', 'overridden']);
    ok(r);
    assert.equal(r.stdout, 'overridden\n');
    const sh = await engine.isula(['run', '--rm', '-e', 'env_id=me', '--entrypoint', '/bin/sh', 'ep:v1', '-c', 'echo id=$env_id']);
    ok(sh);
    assert.equal(sh.stdout, 'id=me\n');
  });

  it('WORKDIR from the manifest applies unless -w is given', async () => {
    let r = await engine.isula(['run', '--rm', '--entrypoint', 'pwd', 'ep:v1']);
    ok(r);
    assert.equal(r.stdout, '/app\n');
    r = await engine.isula(['run', '--rm', '-w', '/tmp', '--entrypoint', 'pwd', 'ep:v1']);
    ok(r);
    assert.equal(r.stdout, '/tmp\n');
    r = await engine.isula(['run', '--rm', 'test:v1', 'pwd']);
    ok(r);
    assert.equal(r.stdout, '/\n');
  });

  it('the container inspect names the embedded image', async () => {
    const id = (await engine.isula(['run', '-d', 'test:v1', 'true'])).stdout.trim();
    ok(await engine.isula(['wait', id]));
    const r = await engine.isula(['inspect', '-f', '{{.Image}}', id]);
    ok(r);
    assert.equal(r.stdout.trim(), 'test:v1');
    assert.match((await engine.isula(['ps', '-a'])).stdout, new RegExp(`^${id.slice(0, 12)} +test:v1 `, 'm'));
    ok(await engine.isula(['rm', id]));
  });

  it('--mount type=squashfs mounts a user squashfs image read-only', async () => {
    const r = await engine.isula([
      'run',
      '--rm',
      '--mount',
      `type=squashfs,src=${fx.appImg},dst=/extra`,
      'test:v1',
      'sh',
      '-c',
      'cat /extra/VERSION; /extra/hello.sh; touch /extra/x 2>&1; ls /app',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out[0], '1.0');
    assert.equal(out[1], 'hello from the embedded app layer');
    assert.match(out[2] ?? '', /Read-only file system/);
    assert.deepEqual(out.slice(3).sort(), ['VERSION', 'hello.sh']);
  });

  it('no loop device or mount outlives its container', async () => {
    assert.deepEqual(loopsBackedBy(fx.appImg), [], 'no app.img loop device before the container starts');
    const run = await engine.isula(['run', '-d', '--mount', `type=squashfs,src=${fx.appImg},dst=/extra`, 'test:v1', 'sleep', '1000']);
    ok(run);
    const id = run.stdout.trim();
    // While it runs, the layer and the user mount are on loop devices and the rootfs is mounted.
    assert.ok(loopsBackedBy(fx.appImg).length >= 1, 'app.img is on a loop device while the container runs');
    assert.ok(mountsOf(engine.dir, id).length >= 1, 'the container rootfs is mounted while it runs');
    ok(await engine.isula(['rm', '-f', id]), 'rm -f');
    await until('no loop device backed by app.img', () => loopsBackedBy(fx.appImg).length === 0, 3000).catch(() => {
      assert.deepEqual(loopsBackedBy(fx.appImg), [], 'loop devices left after rm');
    });
    assert.deepEqual(mountsOf(engine.dir, id), [], 'mounts left after rm');
    // --rm containers too.
    ok(await engine.isula(['run', '--rm', '--mount', `type=squashfs,src=${fx.appImg},dst=/extra`, 'test:v1', 'true']));
    await until('no loop device backed by app.img after run --rm', () => loopsBackedBy(fx.appImg).length === 0, 3000).catch(() => {
      assert.deepEqual(loopsBackedBy(fx.appImg), [], 'loop devices left after run --rm');
    });
    const ps = await engine.isula(['ps', '-a', '-q']);
    assert.equal(ps.stdout, '');
    for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      assert.ok(!(l.split(' ')[4] ?? '').startsWith(`${engine.state}/`), `mount left under the state dir: ${l}`);
    }
  });

  it('a --rm container whose command cannot be started is removed, leaving no mount', async () => {
    const ids = async (): Promise<string[]> => lines((await engine.isula(['ps', '-a', '-q', '--no-trunc'])).stdout);
    const before = await ids();
    try {
      const r = await engine.isula(['run', '--rm', 'test:v1', '/nonexistent']);
      assert.notEqual(r.code, 0, 'run of a missing command fails');
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      // iSulad (service_container.c start_container -> save_after_auto_remove) deletes an
      // auto-remove container whose start failed.
      await until('the failed --rm container to be removed', async () => (await ids()).length === before.length, 3000).catch(async () => {
        assert.deepEqual(await ids(), before, 'a --rm container whose start failed is still listed by ps -a');
      });
      for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        assert.ok(!(l.split(' ')[4] ?? '').startsWith(`${engine.state}/`), `mount left under the state dir: ${l}`);
      }
      assert.deepEqual(loopsBackedBy(fx.appImg), []);
    } finally {
      const left = (await ids()).filter((id) => !before.includes(id));
      if (left.length > 0) await engine.isula(['rm', '-f', ...left]);
    }
  });

  it('a container whose start failed holds no rootfs mount', async () => {
    try {
      const r = await engine.isula(['run', '--name', 'nostart', 'test:v1', '/nonexistent']);
      assert.notEqual(r.code, 0);
      const id = (await engine.isula(['inspect', '-f', '{{.Id}}', 'nostart'])).stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.notEqual(await engine.isula(['inspect', '-f', '{{.State.Status}}', 'nostart']).then((x) => x.stdout.trim()), 'running');
      // iSulad unmounts the rootfs on a failed start (umount_rootfs_on_failure); a created
      // container that never ran holds no mount here either.
      assert.deepEqual(mountsOf(engine.dir, id), [], 'rootfs still mounted after the failed start');
      assert.deepEqual(loopsBackedBy(fx.appImg), []);
    } finally {
      await engine.isula(['rm', '-f', 'nostart']);
    }
  });

  it('an exited container holds no host mount of the image rootfs, and can start again', async () => {
    try {
      const r = await engine.isula(['run', '--name', 'done', 'test:v1', 'sh', '-c', 'cat /app/VERSION; exit 3']);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '1.0\n');
      const id = (await engine.isula(['inspect', '-f', '{{.Id}}', 'done'])).stdout.trim();
      // iSulad cleans a container when it exits (do_clean_container: runtime clean + rootfs
      // umount); with an embedded image the block device is only mounted while it runs.
      let left: string[] = [];
      await until('the rootfs to be released after the exit', () => (left = mountsOf(engine.dir, id)).length === 0, 3000).catch(() => undefined);
      const again = await engine.isula(['start', '-a', 'done']);
      assert.equal(again.code, 3, `start -a after the exit: ${again.stderr}`);
      assert.equal(again.stdout, '1.0\n');
      assert.deepEqual(left, [], 'rootfs still mounted on the host after the container exited');
      assert.deepEqual(loopsBackedBy(fx.appImg), []);
    } finally {
      await engine.isula(['rm', '-f', 'done']);
    }
  });

  it('rmi is refused while a container uses the image, and the message names it', async () => {
    const run = await engine.isula(['run', '-d', '--name', 'user', 'test:v1', 'sleep', '1000']);
    ok(run);
    const id = run.stdout.trim();
    const r = await engine.isula(['rmi', 'test:v1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(id));
    assert.match((await engine.isula(['images'])).stdout, /^test +v1 /m);
    // a stopped container still holds the image
    ok(await engine.isula(['stop', '-t', '1', id]));
    const stopped = await engine.isula(['rmi', 'test:v1']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, new RegExp(id));
    ok(await engine.isula(['rm', id]));
    ok(await engine.isula(['rmi', 'test:v1']), 'rmi after the container is gone');
    assert.doesNotMatch((await engine.isula(['images'])).stdout, /^test +v1 /m);
    assert.match((await engine.isula(['images'])).stdout, /^ep +v1 /m);
  });
});

describe('embedded images: rejected manifests', () => {
  let engine: TestEngine;
  let fx: Fixture;
  before(async () => {
    fx = new Fixture('rej');
    engine = await TestEngine.start();
    ok(await load(engine, fx.manifest), 'load the good image');
  });
  after(async () => {
    await engine.cleanup();
    fx.remove();
  });

  /** `isula load` of `manifest` exits `code` with one stderr line matching `re`, and `images` is unchanged. */
  async function rejected(manifest: string, re: RegExp, code = 1, extra: string[] = ['-t', 'embedded']): Promise<void> {
    const before = await engine.isula(['images']);
    ok(before);
    const r = await engine.isula(['load', '-i', manifest, ...extra]);
    assert.equal(r.code, code, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
    const err = lines(r.stderr);
    assert.equal(err.length, 1, `one stderr line, got: ${r.stderr}`);
    assert.match(err[0]!, re);
    const afterwards = await engine.isula(['images']);
    ok(afterwards);
    assert.equal(afterwards.stdout, before.stdout, 'isula images changed');
  }
  const sgnOf = (m: string): string => m.replace(/\.manifest$/, '.sgn').replace(/[.]/g, '\\.');

  it('-t abc exits 1', async () => {
    await rejected(fx.manifest, /abc/, 1, ['-t', 'abc']);
  });

  it('the sgn file is missing', async () => {
    const m = fx.variant(undefined, { sgn: 'none' });
    await rejected(m, new RegExp(`signature file ${sgnOf(m)}`));
  });

  it('the sgn file has a trailing newline', async () => {
    const m = fx.variant();
    fs.appendFileSync(m.replace(/\.manifest$/, '.sgn'), '\n');
    await rejected(m, new RegExp(sgnOf(m)));
  });

  it('the sgn file holds a wrong digest', async () => {
    const m = fx.variant(undefined, { sgn: `sha256:${'36c7c17757c24fa1'.repeat(4)}` });
    await rejected(m, new RegExp(sgnOf(m)));
  });

  it('imageName none is reserved', async () => {
    await rejected(
      fx.variant((m) => (m.imageName = 'none')),
      /imageName "none"/,
    );
  });

  it('imageName none:latest is reserved', async () => {
    await rejected(
      fx.variant((m) => (m.imageName = 'none:latest')),
      /imageName "none:latest"/,
    );
  });

  it('imageName without a tag', async () => {
    await rejected(
      fx.variant((m) => (m.imageName = 'test')),
      /imageName "test"/,
    );
  });

  it('imageName k~k', async () => {
    await rejected(
      fx.variant((m) => (m.imageName = 'k~k:v1')),
      /imageName "k~k:v1"/,
    );
  });

  it('a bad created time', async () => {
    await rejected(
      fx.variant((m) => (m.created = '2018-01-01T00:00:00.000Zabc#$@')),
      /created/,
    );
  });

  it('a created time that does not exist', async () => {
    await rejected(
      fx.variant((m) => (m.created = '2020-13-45T25:61:61Z')),
      /created "2020-13-45T25:61:61Z" is not an RFC3339 time/,
    );
    await rejected(
      fx.variant((m) => (m.created = '2019-02-29T00:00:00Z')),
      /created "2019-02-29T00:00:00Z"/,
    );
  });

  it('a layer that is a symlink out of the manifest directory, relative or absolute', async () => {
    for (const target of ['../img/app.img', fx.appImg]) {
      const m = fx.variant((x) => (x.layers[1]!.pathInHost = 'out.img'));
      fs.symlinkSync(target, path.join(path.dirname(m), 'out.img'));
      await rejected(
        m,
        new RegExp(`layers\\[1\\]\\.pathInHost "out\\.img" leads through a symlink to ${fx.appImg.replace(/[.]/g, '\\.')}, outside the manifest directory`),
      );
    }
  });

  it('zero layers', async () => {
    await rejected(
      fx.variant((m) => (m.layers = [])),
      /layers/,
    );
  });

  it('a layer digest that does not match the file', async () => {
    await rejected(
      fx.variant((m) => (m.layers[1]!.digest = `sha256:${'7a'.repeat(32)}`)),
      /layers\[1\]\.digest.*app\.img/,
    );
  });

  it('a layer file that is missing', async () => {
    await rejected(
      fx.variant((m) => (m.layers[1]!.pathInHost = 'kkk')),
      /layers\[1\]\.pathInHost.*kkk/,
    );
  });

  it('an absolute pathInHost in layer 1', async () => {
    await rejected(
      fx.variant((m) => (m.layers[1]!.pathInHost = fx.appImg)),
      /layers\[1\]\.pathInHost/,
    );
  });

  it('a pathInContainer that is not absolute', async () => {
    await rejected(
      fx.variant((m) => (m.layers[1]!.pathInContainer = 'app')),
      /layers\[1\]\.pathInContainer/,
    );
  });

  it('layer 0 that is not a block device', async () => {
    await rejected(
      fx.variant((m) => (m.layers[0]!.pathInHost = fx.img)),
      /layers\[0\]\.pathInHost/,
    );
    await rejected(
      fx.variant((m) => (m.layers[0]!.pathInHost = path.join(fx.img, 'rootfs.img'))),
      /layers\[0\]\.pathInHost/,
    );
  });

  it('a later squashfs layer that is a directory', async () => {
    const m = fx.variant((x) => {
      x.layers[1]!.pathInHost = 'dir';
      x.layers[1]!.digest = '';
    });
    fs.mkdirSync(path.join(path.dirname(m), 'dir'));
    await rejected(m, /layers\[1\]\.pathInHost/);
  });

  it('a manifest that is not JSON', async () => {
    const m = fx.variant(undefined, { raw: 'hello, not json\n' });
    await rejected(m, new RegExp(m.replace(/[.]/g, '\\.')));
  });

  it('an empty manifest', async () => {
    const m = fx.variant(undefined, { raw: '' });
    await rejected(m, new RegExp(m.replace(/[.]/g, '\\.')));
  });

  it('a manifest that does not exist', async () => {
    await rejected(path.join(fx.root, 'nowhere', 'test.manifest'), /nowhere\/test\.manifest/);
  });

  it('the same name from a copied manifest in another directory is a conflict (exit 3)', async () => {
    const copy = path.join(fx.root, 'copy');
    fs.mkdirSync(copy);
    for (const f of ['app.img', 'test.manifest', 'test.sgn']) fs.copyFileSync(path.join(fx.img, f), path.join(copy, f));
    await rejected(path.join(copy, 'test.manifest'), /test:v1/, 3);
  });

  it('after all the rejections the good image still runs', async () => {
    const r = await engine.isula(['run', '--rm', 'test:v1', 'cat', '/app/VERSION']);
    ok(r);
    assert.equal(r.stdout, '1.0\n');
    assert.notEqual((await engine.isula(['inspect', 'rej:v1'])).code, 0);
  });
});

describe('embedded images: symlinked manifest, signature, layers and rootfs device', () => {
  let engine: TestEngine;
  let fx: Fixture;
  let link = '';
  let real = '';
  before(async () => {
    fx = new Fixture('sym');
    // real/test.manifest names its layer through real/app.img -> layers/app.img (a layer's
    // symlinks stay in the manifest's directory) and its rootfs through <root>/rootfs0 ->
    // /dev/loopN; real/test.sgn -> ../sig/sgn; link/test.manifest -> ../real/test.manifest is
    // what the user loads.
    real = path.join(fx.root, 'real');
    const sig = path.join(fx.root, 'sig');
    const linkDir = path.join(fx.root, 'link');
    for (const d of [real, sig, linkDir, path.join(real, 'layers')]) fs.mkdirSync(d);
    fs.copyFileSync(fx.appImg, path.join(real, 'layers', 'app.img'));
    fs.symlinkSync('layers/app.img', path.join(real, 'app.img'));
    fs.symlinkSync(fx.loop, path.join(fx.root, 'rootfs0'));
    const m = fx.read();
    m.imageName = 'sym:v1';
    m.layers[0]!.pathInHost = path.join(fx.root, 'rootfs0');
    const text = `${JSON.stringify(m, null, 4)}\n`;
    fs.writeFileSync(path.join(real, 'test.manifest'), text);
    fs.writeFileSync(path.join(sig, 'sgn'), `sha256:${sha256hex(text)}`);
    fs.symlinkSync('../sig/sgn', path.join(real, 'test.sgn'));
    link = path.join(linkDir, 'test.manifest');
    fs.symlinkSync('../real/test.manifest', link);
    engine = await TestEngine.start();
  });
  after(async () => {
    await engine.cleanup();
    fx.remove();
  });

  it('loads through the symlinks', async () => {
    ok(await load(engine, link), 'load via symlink');
    assert.match((await engine.isula(['images'])).stdout, /^sym +v1 /m);
  });

  it('runs with the layer reached through a symlink', async () => {
    const r = await engine.isula(['run', '--rm', 'sym:v1', 'sh', '-c', 'cat /app/VERSION; echo $c']);
    ok(r, 'run sym:v1');
    assert.equal(r.stdout, '1.0\nd e\n');
  });

  it('a layer symlink turned to lead out of the manifest directory after the load refuses the create', async () => {
    const layer = path.join(real, 'app.img');
    fs.rmSync(layer);
    fs.symlinkSync('../img/app.img', layer);
    try {
      const r = await engine.isula(['create', '--name', 'moved', 'sym:v1', 'true']);
      assert.equal(r.code, 1, `exit code; stdout: ${r.stdout} stderr: ${r.stderr}`);
      assert.deepEqual(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`Layer 1 app\\.img of embedded image sym:v1 leads to ${fx.img}/app\\.img, outside the manifest directory ${real}`));
      assert.equal((await engine.isula(['ps', '-a', '-q'])).stdout, '');
    } finally {
      fs.rmSync(layer);
      fs.symlinkSync('layers/app.img', layer);
    }
  });
});

describe('embedded images across a daemon restart', () => {
  let engine: TestEngine;
  let fx: Fixture;
  before(async () => {
    fx = new Fixture('restart');
    engine = await TestEngine.start();
    ok(await load(engine, fx.manifest), 'load');
  });
  after(async () => {
    await engine.cleanup();
    fx.remove();
  });

  it('images are still listed and runnable after SIGKILL + restart', async () => {
    const before = await engine.isula(['images']);
    await engine.restart();
    const r = await engine.isula(['images']);
    ok(r);
    assert.equal(r.stdout, before.stdout);
    const run = await engine.isula(['run', '--rm', 'test:v1', 'cat', '/app/VERSION']);
    ok(run, 'run after restart');
    assert.equal(run.stdout, '1.0\n');
    assert.deepEqual(inspected(await engine.isula(['inspect', 'test:v1'])), fx.read());
  });

  it('a running embedded container survives the restart and can be removed cleanly', async () => {
    const run = await engine.isula(['run', '-d', 'test:v1', 'sleep', '1000']);
    ok(run);
    const id = run.stdout.trim();
    await engine.restart();
    const r = await engine.isula(['exec', id, 'cat', '/app/VERSION']);
    ok(r, 'exec after restart');
    assert.equal(r.stdout, '1.0\n');
    ok(await engine.isula(['rm', '-f', id]));
    await until('no loop device backed by app.img', () => loopsBackedBy(fx.appImg).length === 0, 3000).catch(() => {
      assert.deepEqual(loopsBackedBy(fx.appImg), [], 'loop devices left after rm');
    });
    assert.deepEqual(mountsOf(engine.dir, id), []);
    ok(await engine.isula(['rmi', 'test:v1']));
  });

  it('a removed image stays removed after a restart', async () => {
    await engine.restart();
    const r = await engine.isula(['images']);
    ok(r);
    assert.equal(lines(r.stdout).length, 1, r.stdout);
  });
});
