/**
 * OCI images end to end (issue 16's acceptance): the built daemon pulls from Debian's
 * docker-registry on 127.0.0.1 images pushed there by skopeo (test/helpers/oci-images.ts),
 * runs containers from them on LXC, and drives tag, images, rmi, inspect, history, prune,
 * login and push; a pull killed with the daemon, or cancelled by its client, leaves nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, show } from '../helpers/cli.js';
import { ISULA, type RunResult, TestEngine } from '../helpers/engine.js';
import { bigImage, busyboxImage, HARDLINK_CONTENT, multiArchImage, type OciImage, pushImage, tarball, writeBlob } from '../helpers/oci-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { RecordLog } from '../../src/image/oci/storage/record-log.js';
import { isMountPoint } from '../../src/sys/mount.js';

/**
 * A one-layer image whose layer makes a symlink to `target` (a host directory) and then writes
 * a file through it: the write must be refused, the host file untouched.
 */
function hostileImage(dir: string, target: string): OciImage {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layer = tarball([
    { name: 'escape', type: 'symlink', linkname: target },
    { name: 'escape/canary', type: 'file', data: 'overwritten\n' },
  ]);
  const layerDigest = writeBlob(dir, layer);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: writeBlob(dir, config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: writeBlob(dir, manifest),
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': '1' },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  return { layout: dir, tag: '1', ociRef: `oci:${dir}:1`, isIndex: false };
}

const ok = (r: RunResult, what: string): string => {
  assert.equal(r.code, 0, `${what}: ${show(r)}`);
  return r.stdout;
};

describe('OCI images', { timeout: 15 * 60_000 }, () => {
  let reg: TestRegistry;
  let authReg: TestRegistry;
  let engine: TestEngine;
  let home: string;
  const savedHome = process.env.HOME;
  let bb: string;
  let multi: string;
  let big: string;
  const isula = (args: string[], timeoutMs = 60_000): Promise<RunResult> => engine.isula(args, { timeoutMs });
  const storage = (): string => path.join(engine.root, 'storage');

  before(async () => {
    [reg, authReg] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
    pushImage(busyboxImage(), reg, 'busybox:latest');
    pushImage(multiArchImage(), reg, 'multi:1');
    pushImage(bigImage(), reg, 'big:1');
    bb = `${reg.host}/busybox:latest`;
    multi = `${reg.host}/multi:1`;
    big = `${reg.host}/big:1`;
    // The daemon keeps registry credentials under its user's home (iSulad: /root/.isulad).
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-home-'));
    process.env.HOME = home;
    engine = await TestEngine.start(['--log-driver', 'stdout'], { 'insecure-registries': [reg.host, authReg.host] });
  });

  after(async () => {
    await engine?.cleanup();
    process.env.HOME = savedHome;
    await Promise.all([reg?.stop(), authReg?.stop()]);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('pulls with a line per layer, then the digest and status; a second pull is up to date', async () => {
    const out = ok(await isula(['pull', bb]), 'pull');
    assert.match(out, /^latest: Pulling from busybox$/m);
    assert.equal(out.match(/: Pull complete$/gm)?.length, 3, out);
    assert.match(out, /^Digest: sha256:[0-9a-f]{64}$/m);
    assert.match(out, new RegExp(`^Status: Downloaded newer image for ${bb}$`, 'm'));
    assert.match(out, new RegExp(`^${bb}$`, 'm'));
    const again = ok(await isula(['pull', bb]), 'pull again');
    assert.equal(again.match(/: Already exists$/gm)?.length, 3, again);
    assert.match(again, /^Status: Image is up to date for /m);
    assert.doesNotMatch(again, /Downloading/);
    const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(out)![1]!;
    const byDigest = ok(await isula(['pull', `${reg.host}/busybox@${digest}`]), 'pull by digest');
    assert.match(byDigest, new RegExp(`^Status: Image is up to date for ${reg.host}/busybox@${digest}$`, 'm'));
  });

  it('runs a container whose rootfs applies the whiteouts and keeps hard links', async () => {
    const r = await isula(['run', '--rm', bb, 'sh', '-c', 'ls /deleted-file; cat /hardlink; ls /opaque-dir; stat -c %i /hardlink /data/original']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /deleted-file: No such file or directory/);
    assert.ok(r.stdout.startsWith(HARDLINK_CONTENT), r.stdout);
    const lines = r.stdout.slice(HARDLINK_CONTENT.length).trim().split('\n');
    assert.equal(lines[0], 'new-file');
    assert.equal(lines[1], lines[2], 'a hard link shares the inode');
  });

  it('picks the amd64 manifest of a multi-arch index; exec works; the image config is merged', async () => {
    ok(await isula(['run', '-d', '--name', 'web', '-e', 'EXTRA=1', '-l', 'a=b', multi, 'sleep', '1000']), 'run -d');
    const dev = ok(await isula(['exec', 'web', 'ls', '-l', '/dev/null']), 'exec');
    assert.match(dev, /^c/);
    const cfg = JSON.parse(ok(await isula(['inspect', '-f', '{{json .Config}}', 'web']), 'inspect')) as {
      Env: string[];
      Cmd: string[];
      Entrypoint: string[];
      Labels: Record<string, string>;
    };
    assert.ok(cfg.Env.includes('PATH=/usr/sbin:/usr/bin:/sbin:/bin'), JSON.stringify(cfg.Env));
    assert.ok(cfg.Env.includes('EXTRA=1'));
    assert.deepEqual(cfg.Cmd, ['sleep', '1000']);
    assert.equal(cfg.Labels.a, 'b');
    // The image's Cmd (sh) when none is given; --entrypoint "" clears it.
    const sh = await isula(['run', '--rm', bb]);
    assert.equal(sh.code, 0, show(sh));
    const cleared = await isula(['create', '--entrypoint', '', bb]);
    assert.notEqual(cleared.code, 0);
    assert.match(cleared.stderr, /No command specified/);
  });

  it('tags, and lists with filters, digests and ids', async () => {
    ok(await isula(['tag', bb, 'mine:1']), 'tag');
    const list = ok(await isula(['images']), 'images');
    assert.match(list, /^mine\s+1\s+[0-9a-f]{12}\s/m);
    assert.match(list, new RegExp(`^${reg.host}/busybox\\s+latest\\s`, 'm'));
    const digests = ok(await isula(['images', '--digests', '-f', `reference=${reg.host}/*`]), 'images --digests');
    assert.match(digests, /^\S+\/busybox\s+latest\s+sha256:[0-9a-f]{64}\s/m);
    assert.doesNotMatch(digests, /^mine/m);
    assert.equal(
      ok(await isula(['images', '-f', 'reference=mine']), 'filter')
        .trim()
        .split('\n').length,
      2,
    );
    assert.equal(ok(await isula(['images', '-f', 'dangling=true', '-q']), 'dangling').trim(), '');
    const ids = ok(await isula(['images', '-q', '--no-trunc']), 'images -q')
      .trim()
      .split('\n');
    assert.equal(new Set(ids).size, ids.length);
    assert.match(ids[0]!, /^sha256:[0-9a-f]{64}$/);
  });

  it('inspects and shows the history of an image', async () => {
    const [img] = JSON.parse(ok(await isula(['inspect', 'mine:1']), 'inspect')) as {
      Id: string;
      RepoTags: string[];
      RepoDigests: string[];
      Architecture: string;
      Os: string;
      RootFS: { Type: string; Layers: string[] };
      Config: { Cmd: string[] };
      Size: number;
    }[];
    assert.match(img!.Id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(img!.RepoTags.includes('mine:1') && img!.RepoTags.includes(bb), JSON.stringify(img!.RepoTags));
    assert.match(img!.RepoDigests[0]!, /@sha256:[0-9a-f]{64}$/);
    assert.equal(img!.Architecture, 'amd64');
    assert.equal(img!.Os, 'linux');
    assert.equal(img!.RootFS.Type, 'layers');
    assert.equal(img!.RootFS.Layers.length, 3);
    assert.deepEqual(img!.Config.Cmd, ['sh']);
    assert.ok(img!.Size > 1_000_000);
    const history = ok(await isula(['history', 'mine:1']), 'history')
      .trim()
      .split('\n');
    assert.match(history[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.equal(history.length, 4);
    assert.match(history[3]!, /base: busybox/);
    const quiet = ok(await isula(['history', '-q', '--no-trunc', 'mine:1']), 'history -q')
      .trim()
      .split('\n');
    assert.equal(quiet[0], img!.Id);
  });

  it('rmi: untags a name of several, refuses while a container uses the image (exit 2), -f only for stopped ones', async () => {
    const id = ok(await isula(['inspect', '-f', '{{.Id}}', 'mine:1']), 'id').trim();
    // A digest reference of an image with other names: only that reference goes (Docker's untag).
    type Refs = { Id: string; RepoTags: string[]; RepoDigests: string[] };
    const [refs] = JSON.parse(ok(await isula(['inspect', 'mine:1']), 'inspect')) as Refs[];
    const multiDigest = refs!.RepoDigests.find((d) => d.startsWith(`${reg.host}/multi@sha256:`));
    assert.ok(multiDigest, JSON.stringify(refs));
    assert.equal(ok(await isula(['rmi', multiDigest]), 'rmi REPO@DIGEST'), `Untagged: ${multiDigest}\n`);
    const [left] = JSON.parse(ok(await isula(['inspect', 'mine:1']), 'inspect')) as Refs[];
    assert.equal(left!.Id, id);
    assert.deepEqual(left!.RepoTags, refs!.RepoTags);
    assert.deepEqual(
      left!.RepoDigests,
      refs!.RepoDigests.filter((d) => d !== multiDigest),
    );
    const gone = await isula(['rmi', multiDigest]);
    assert.equal(gone.code, 20, show(gone));
    const byId = await isula(['rmi', id.replace(/^sha256:/, '').slice(0, 12)]);
    assert.equal(byId.code, 2, show(byId));
    assert.match(byId.stderr, /must be forced/);
    assert.match(ok(await isula(['rmi', 'mine:1']), 'untag'), /^Untagged: mine:1$/m);
    ok(await isula(['rmi', multi]), 'untag multi');
    // busybox is now the last name; `web` (from multi:1, the same image) runs on it.
    const busy = await isula(['rmi', bb]);
    assert.equal(busy.code, 2, show(busy));
    assert.match(busy.stderr, /container [0-9a-f]{12} is using it/);
    const running = await isula(['rmi', '-f', bb]);
    assert.equal(running.code, 2, show(running));
    ok(await isula(['stop', '-t', '1', 'web']), 'stop');
    const forced = ok(await isula(['rmi', '-f', bb]), 'rmi -f');
    assert.match(forced, /^Untagged: /m);
    assert.doesNotMatch(forced, /^Deleted: /m);
    assert.match(ok(await isula(['images', '-f', 'dangling=true']), 'dangling'), /^<none>\s+<none>\s/m);
    const layer = path.join(storage(), 'overlay', ok(await isula(['inspect', '-f', '{{.Id}}', 'web']), 'id').trim());
    assert.ok(fs.existsSync(layer));
    ok(await isula(['rm', 'web']), 'rm');
    assert.ok(!fs.existsSync(layer), 'rm removes the container layer');
    const pruned = ok(await isula(['images', 'prune', '-f']), 'prune');
    assert.match(pruned, /^deleted: sha256:[0-9a-f]{64}$/m);
    assert.equal(ok(await isula(['images', '-q']), 'images').trim(), '');
  });

  it('--pull never fails clearly on a missing image; the default pulls it, output on stderr, beside a pull of the same layers', async () => {
    const never = await isula(['run', '--rm', '--pull', 'never', bb, 'true']);
    assert.equal(never.code, 20, show(never));
    assert.match(never.stderr, /No such image/);
    const [r, other] = await Promise.all([isula(['run', '--rm', bb, 'echo', 'hello']), isula(['pull', multi])]);
    ok(other, 'a pull of the same layers at the same time');
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'hello\n');
    assert.match(r.stderr, /Unable to find image/);
    assert.match(r.stderr, /^Digest: sha256:/m);
  });

  it('run --rm returns once the container and its layer are gone: rmi right after never finds it in use; -d --rm returns at once', async () => {
    for (let i = 0; i < 10; i++) {
      ok(await isula(['run', '--rm', bb, 'true']), `run --rm ${i}`);
      ok(await isula(['rmi', bb]), `rmi right after run --rm ${i}`);
    }
    ok(await isula(['pull', bb]), 'pull');
    // As Docker: -d --rm prints the id and returns; the removal follows the exit.
    const id = ok(await isula(['run', '-d', '--rm', bb, 'sleep', '1']), 'run -d --rm').trim();
    assert.equal(ok(await isula(['inspect', '-f', '{{.State.Running}}', id]), 'inspect').trim(), 'true');
    await eventually('the -d --rm container removed', async () => ((await isula(['inspect', id])).code !== 0 ? true : undefined));
  });

  it('logs in to an htpasswd registry, keeps the credentials encrypted, and pushes there', async () => {
    const bad = await isula(['login', '-u', 'u', '-p', 'wrong', authReg.host]);
    assert.notEqual(bad.code, 0, show(bad));
    const login = await engine.isula(['login', '-u', authReg.user!, '--password-stdin', authReg.host], { input: `${authReg.password!}\n` });
    assert.match(ok(login, 'login'), /Login Succeeded/);
    const auths = path.join(home, '.isulad', 'auths.json');
    assert.equal(fs.statSync(auths).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(auths, 'utf8').includes(Buffer.from(`${authReg.user}:${authReg.password}`).toString('base64')));
    const target = `${authReg.host}/mine:1`;
    ok(await isula(['tag', bb, target]), 'tag');
    const pushed = ok(await isula(['push', target], 120_000), 'push');
    const digest = /^1: digest: (sha256:[0-9a-f]{64})$/m.exec(pushed)?.[1];
    assert.ok(digest, pushed);
    const seen = JSON.parse(execFileSync('skopeo', ['inspect', ...authReg.skopeoArgs('inspect'), `docker://${target}`], { encoding: 'utf8' })) as {
      Digest: string;
      Layers: string[];
    };
    assert.equal(seen.Digest, digest);
    assert.equal(seen.Layers.length, 3);
    ok(await isula(['logout', authReg.host]), 'logout');
    const denied = await isula(['push', target]);
    assert.notEqual(denied.code, 0, show(denied));
  });

  it('a hostile layer (a write through its own symlink) fails the pull naming the entry; the host file is untouched', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-canary-'));
    try {
      fs.writeFileSync(path.join(outside, 'canary'), 'canary\n');
      pushImage(hostileImage(path.join(outside, 'layout'), outside), reg, 'evil:1');
      const r = await isula(['pull', `${reg.host}/evil:1`]);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, /escape\/canary/);
      assert.equal(fs.readFileSync(path.join(outside, 'canary'), 'utf8'), 'canary\n');
      assert.doesNotMatch(ok(await isula(['images']), 'images'), /evil/);
      assert.deepEqual(fs.readdirSync(path.join(storage(), 'tmp')), []);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('--platform: pull, run and create pick that manifest of an index; a missing platform is a clear error', async () => {
    pushImage(multiArchImage(), reg, 'plat:1');
    const plat = `${reg.host}/plat:1`;
    const missing = await isula(['pull', '--platform', 'linux/riscv64', plat]);
    assert.equal(missing.code, 20, show(missing));
    assert.match(missing.stderr, /no matching manifest for linux\/riscv64 .*it has: linux\/amd64, linux\/arm64\/v8/);
    const bad = await isula(['pull', '--platform', 'arm64', plat]);
    assert.notEqual(bad.code, 0, show(bad));
    assert.match(bad.stderr, /expected os\/arch\[\/variant\]/);
    ok(await isula(['pull', '--platform', 'linux/arm64', plat]), 'pull arm64');
    assert.equal(ok(await isula(['inspect', '-f', '{{.Architecture}}', plat]), 'inspect').trim(), 'arm64');
    assert.match(ok(await isula(['images', plat]), 'images'), /plat\s+1\s/);
    // As Docker: another arch without --platform is created, with a warning (the test's arm64
    // manifest carries the amd64 busybox, so it even runs).
    const warned = await isula(['run', '--rm', plat, 'echo', 'ran']);
    assert.equal(warned.code, 0, show(warned));
    assert.equal(warned.stdout, 'ran\n');
    assert.match(warned.stderr, /^WARNING: The requested image's platform \(linux\/arm64\/v8\) does not match the detected host platform \(linux\/amd64\)/m);
    // --platform the local image lacks: not found locally, so that platform is pulled, then run.
    const amd = await isula(['run', '--rm', '--platform', 'linux/amd64', plat, 'echo', 'amd']);
    assert.equal(amd.code, 0, show(amd));
    assert.equal(amd.stdout, 'amd\n');
    assert.match(amd.stderr, /Unable to find image/);
    assert.doesNotMatch(amd.stderr, /WARNING/);
    assert.equal(ok(await isula(['inspect', '-f', '{{.Architecture}}', plat]), 'inspect').trim(), 'amd64');
    const created = await isula(['create', '--platform', 'linux/arm64', '--pull', 'never', plat, 'true']);
    assert.equal(created.code, 20, show(created));
    assert.match(created.stderr, /does not match the specified platform: wanted linux\/arm64\/v8, actual: linux\/amd64/);
    ok(await isula(['rmi', plat]), 'rmi');
  });

  it('records image events', async () => {
    const events = ok(await isula(['events', '--since', '0', '--until', String(Math.floor(Date.now() / 1000) + 1)]), 'events');
    for (const action of ['pull', 'tag', 'untag', 'delete', 'push']) assert.match(events, new RegExp(` image ${action} `), action);
  });

  it('a container keeps its rootfs over a daemon restart; a start mounts it again after an umount (a reboot)', async () => {
    ok(await isula(['run', '-d', '--name', 'keep', bb, 'sleep', '1000']), 'run -d');
    ok(await isula(['create', '--name', 'later', bb, 'cat', '/hardlink']), 'create');
    const later = ok(await isula(['inspect', '-f', '{{.Id}}', 'later']), 'id').trim();
    const merged = path.join(storage(), 'overlay', later, 'merged');
    // As iSulad: mounted at the first start, not at create; then kept until rm.
    assert.equal(isMountPoint(merged), false, 'not mounted at create');
    assert.equal(ok(await isula(['start', '-a', 'later']), 'first start'), HARDLINK_CONTENT);
    assert.equal(isMountPoint(merged), true, 'mounted at the first start');
    await engine.stop();
    await engine.startDaemon();
    assert.equal(ok(await isula(['exec', 'keep', 'cat', '/hardlink']), 'exec after the restart'), HARDLINK_CONTENT);
    execFileSync('umount', [merged]);
    assert.equal(ok(await isula(['start', '-a', 'later']), 'start after an umount'), HARDLINK_CONTENT);
    ok(await isula(['rm', '-f', 'keep', 'later']), 'rm');
    assert.equal(fs.existsSync(path.join(storage(), 'overlay', later)), false, 'its layer goes with rm');
  });

  it('-u names a user of the image: looked up at create (its rootfs mounted then), refused there when unknown', async () => {
    const before = fs.readdirSync(path.join(storage(), 'overlay')).length;
    const bad = await isula(['create', '-u', 'nosuchuser', bb, 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unable to find user nosuchuser/);
    assert.equal(fs.readdirSync(path.join(storage(), 'overlay')).length, before, 'the refused create left no layer');
    // Never started: rm still derives its spec, which reads the user from the mounted rootfs.
    const id = ok(await isula(['create', '-u', 'nobody', bb, 'true']), 'create -u nobody').trim();
    ok(await isula(['rm', id]), 'rm of a never-started container with a user');
    assert.equal(fs.existsSync(path.join(storage(), 'overlay', id)), false);
    assert.equal(ok(await isula(['run', '--rm', '-u', 'nobody', bb, 'id', '-u']), 'run -u nobody').trim(), '65534');
  });

  it('-u with ids only: no lookup at create, so no mount; the start runs as those ids', async () => {
    const id = ok(await isula(['create', '-u', '1000', bb, 'sh', '-c', 'echo "$(id -u):$(id -g)"']), 'create -u 1000').trim();
    assert.equal(isMountPoint(path.join(storage(), 'overlay', id, 'merged')), false, 'not mounted at create');
    assert.equal(ok(await isula(['start', '-a', id]), 'start -a').trim(), '1000:1000');
    ok(await isula(['rm', id]), 'rm');
    const never = ok(await isula(['create', '-u', '1000:0', bb, 'true']), 'create -u 1000:0').trim();
    ok(await isula(['rm', never]), 'rm of a never-started container with ids');
    assert.equal(fs.existsSync(path.join(storage(), 'overlay', never)), false);
  });

  it('a container layer whose record is gone (an rm the daemon was killed in) is removed at the next start', async () => {
    const id = ok(await isula(['create', bb, 'true']), 'create').trim();
    await engine.kill9();
    fs.rmSync(path.join(engine.root, 'engines', 'lcr', id), { recursive: true, force: true });
    await engine.startDaemon();
    assert.ok(!fs.existsSync(path.join(storage(), 'overlay', id)), 'the orphan layer is swept');
  });

  const containerLogFile = (): string => path.join(storage(), 'overlay-containers', 'containers.log');
  /** The container layers' records in the store's log, read as the store reads it. */
  const containerRecords = (): Map<string, unknown> => RecordLog.read(containerLogFile(), 1 << 30, (v) => v as { id: string }).records;
  /** The ids of every container, full length. */
  const allIds = async (): Promise<string[]> =>
    ok(await isula(['ps', '-aq', '--no-trunc']), 'ps -aq')
      .split('\n')
      .filter(Boolean)
      .sort();
  /** Container layers in the store: directories of the driver that are no image layer (those have a link file). */
  const containerLayers = (): string[] =>
    fs
      .readdirSync(path.join(storage(), 'overlay'))
      .filter((n) => /^[0-9a-f]{64}$/.test(n) && !fs.existsSync(path.join(storage(), 'overlay', n, 'link')))
      .sort();

  it('a daemon killed amid creates: every answered create is there after the restart, and nothing half made is left', async () => {
    const records = (): number => containerRecords().size;
    // Killed as the first layer directory appears, once three records are flushed, once six are.
    const moments: [string, () => boolean][] = [
      ['a layer directory made', () => containerLayers().length > 0],
      ['three records flushed', () => records() >= 3],
      ['six records flushed', () => records() >= 6],
    ];
    for (const [moment, reached] of moments) {
      assert.deepEqual(await allIds(), [], `${moment}: no container before`);
      const clients = Array.from({ length: 8 }, () => isula(['create', bb, 'true']));
      for (const until = Date.now() + 30_000; !reached() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 1));
      await engine.kill9();
      const answered = (await Promise.all(clients)).filter((r) => r.code === 0).map((r) => r.stdout.trim());
      await engine.startDaemon();
      const ids = await allIds();
      for (const id of answered) assert.ok(ids.includes(id), `${moment}: the answered create ${id} is there`);
      assert.deepEqual(containerLayers(), ids, `${moment}: a layer for each container, none other`);
      for (const id of ids) assert.equal(ok(await isula(['start', '-a', id]), `${moment}: start ${id}`), '');
      if (ids.length > 0) ok(await isula(['rm', ...ids]), 'rm');
      assert.deepEqual(containerLayers(), [], `${moment}: the layers go with rm`);
    }
  });

  it('a store of the previous version (one index of container layers) loads: its containers run, start and are removed', async () => {
    ok(await isula(['run', '-d', '--name', 'before-up', bb, 'sleep', '1000']), 'run -d');
    ok(await isula(['create', '--name', 'before-new', bb, 'cat', '/hardlink']), 'create');
    await engine.stop();
    // What the previous version kept: one index of them all, rewritten at every create; no log.
    const index = Object.fromEntries(containerRecords());
    assert.equal(Object.keys(index).length, 2);
    const legacy = path.join(storage(), 'overlay-containers', 'containers.json');
    fs.rmSync(containerLogFile());
    fs.writeFileSync(legacy, `${JSON.stringify(index)}\n`, { mode: 0o600 });
    await engine.startDaemon();
    assert.throws(() => JSON.parse(fs.readFileSync(legacy, 'utf8')), SyntaxError, 'the old index is adopted, then fenced off from older daemons');
    assert.deepEqual(Object.fromEntries(containerRecords()), index, 'its records are in the log');
    assert.equal(ok(await isula(['exec', 'before-up', 'cat', '/hardlink']), 'exec'), HARDLINK_CONTENT);
    assert.equal(ok(await isula(['start', '-a', 'before-new']), 'start'), HARDLINK_CONTENT);
    ok(await isula(['rm', '-f', 'before-up', 'before-new']), 'rm -f');
    assert.deepEqual(containerLayers(), [], 'their layers go with rm');
    await engine.restart();
    assert.deepEqual(await allIds(), []);
  });

  it('a daemon killed in the middle of a pull restarts clean, and the pull then succeeds', async () => {
    const child = spawn(ISULA, ['-H', engine.host, 'pull', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => child.on('close', resolve));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await eventually('the pull to get going', () => (/Downloading/.test(out) ? true : undefined), 60_000);
    await engine.kill9();
    await closed;
    assert.doesNotMatch(out, /^Digest:/m, 'the pull was over before the kill');
    await engine.startDaemon();
    assert.deepEqual(fs.readdirSync(path.join(storage(), 'tmp')), []);
    ok(await isula(['pull', big], 180_000), 'pull after the restart');
    const r = await isula(['run', '--rm', big, 'ls', '/big']);
    assert.equal(ok(r, 'run').trim().split('\n').length, 4);
    assert.deepEqual(fs.readdirSync(path.join(storage(), 'tmp')), []);
  });

  it('a pull cancelled by its client (Ctrl-C) adds no image and leaves no download', async () => {
    ok(await isula(['rmi', big]), 'rmi');
    const child = spawn(ISULA, ['-H', engine.host, 'pull', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => child.on('close', resolve));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await eventually('the pull to start downloading', () => (/Downloading/.test(out) ? true : undefined), 60_000);
    child.kill('SIGINT');
    await closed;
    assert.doesNotMatch(out, /^Digest:/m, 'the pull was over before Ctrl-C');
    assert.doesNotMatch(ok(await isula(['images']), 'images'), /big/);
    const tmp = path.join(storage(), 'tmp');
    await eventually('the half-unpacked layers to be removed', () => (fs.readdirSync(tmp).length === 0 ? true : undefined));
  });
});
