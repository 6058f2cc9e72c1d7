import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cli, show } from '../helpers/cli.js';
import { TestEngine } from '../helpers/engine.js';
import { busyboxRootfs, freshRootfs } from '../helpers/rootfs.js';

/**
 * Paths from a rootfs, an image or the user never make the daemon write outside the
 * container's root, through the real client and daemon on real LXC containers. Every case
 * aims at a temporary directory outside the rootfs (never at the host's /etc), so running it
 * against an engine that does follow the symlinks harms nothing but that directory.
 */

const dirs: string[] = [];
/** A temporary directory outside every rootfs, removed after the file. */
function outsideDir(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `isulad-test-outside-${label}-`)));
  dirs.push(dir);
  return dir;
}
/** A private rootfs whose etc is replaced by a symlink to `target`. */
function rootfsWithEtc(label: string, target: string): string {
  const rootfs = freshRootfs(label);
  dirs.push(rootfs);
  fs.rmSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.symlinkSync(target, path.join(rootfs, 'etc'));
  return rootfs;
}
const empty = (dir: string): void => assert.deepEqual(fs.readdirSync(dir), [], `${dir} on the host must stay empty`);

describe('host files stay untouched', () => {
  let engine: TestEngine;
  let cli: Cli;
  /** Unique names under the host's /tmp that a container's mounts must never create. */
  const escapeName = `isulad-test-escape-${process.pid}`;
  const escapes = ['', '-tmpfs', '-mount', '-dev'].map((s) => `/tmp/${escapeName}${s}`);
  const up = '/..'.repeat(12);

  before(async () => {
    engine = await TestEngine.start();
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    await engine.cleanup();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    // Only where an engine got it wrong: the test has failed already.
    for (const e of escapes) fs.rmSync(e, { recursive: true, force: true });
  });

  it('a system container whose etc is a symlink to a host directory writes no hostname, hosts, resolv.conf there, and runs', async () => {
    const outside = outsideDir('sys-abs');
    const relOutside = outsideDir('sys-rel');
    for (const [label, target, host] of [
      ['sys-abs', outside, outside],
      ['sys-rel', `../../../../../../../..${relOutside}`, relOutside],
    ] as const) {
      const rootfs = rootfsWithEtc(label, target);
      const r = await engine.isula(['run', '-d', '--name', label, '--system-container', '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
      assert.equal(r.code, 0, show(r));
      assert.match(await cli.status(label), /^running /);
      empty(host);
      await cli.ok(['rm', '-f', label]);
    }
  });

  it('a system container whose etc/resolv.conf is a symlink to a host file, and etc/hosts a hard link to one, leaves both as they were', async () => {
    const outside = outsideDir('resolv');
    fs.writeFileSync(path.join(outside, 'resolv.conf'), 'nameserver 192.0.2.1\n');
    fs.writeFileSync(path.join(outside, 'hosts'), '192.0.2.2 host\n');
    const rootfs = freshRootfs('resolv');
    dirs.push(rootfs);
    for (const f of ['resolv.conf', 'hosts']) fs.rmSync(path.join(rootfs, 'etc', f), { force: true });
    fs.symlinkSync(path.join(outside, 'resolv.conf'), path.join(rootfs, 'etc', 'resolv.conf'));
    fs.linkSync(path.join(outside, 'hosts'), path.join(rootfs, 'etc', 'hosts'));
    const r = await engine.isula([
      'run',
      '-d',
      '--name',
      'resolv',
      '--system-container',
      '--hostname',
      'sys1',
      '--external-rootfs',
      rootfs,
      'none',
      'sleep',
      '1000',
    ]);
    assert.equal(fs.readFileSync(path.join(outside, 'resolv.conf'), 'utf8'), 'nameserver 192.0.2.1\n');
    assert.equal(fs.readFileSync(path.join(outside, 'hosts'), 'utf8'), '192.0.2.2 host\n');
    assert.deepEqual(fs.readdirSync(outside).sort(), ['hosts', 'resolv.conf']);
    assert.equal(r.code, 0, show(r));
    // the files the rootfs does hold are written as before
    assert.equal(fs.readFileSync(path.join(rootfs, 'etc', 'hostname'), 'utf8'), 'sys1\n');
    assert.match(fs.readFileSync(path.join(rootfs, 'etc', 'hosts'), 'utf8'), /\bsys1\n/);
    await cli.ok(['rm', '-f', 'resolv']);
  });

  it('an app container whose etc is a symlink out gets its etc files inside the rootfs, and the host directory stays empty', async () => {
    const outside = outsideDir('app');
    const rootfs = rootfsWithEtc('app', outside);
    const r = await engine.isula(['run', '--rm', '--hostname', 'app1', '--external-rootfs', rootfs, 'none', 'cat', '/etc/hostname']);
    empty(outside);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'app1\n');
    // where the container's /etc leads, inside its rootfs
    assert.deepEqual(fs.readdirSync(path.join(rootfs, outside)).sort(), ['hostname', 'hosts', 'resolv.conf']);
  });

  it('an etc symlink loop inside the rootfs is refused with a clear message', async () => {
    // etc -> <outside>, and <rootfs><outside> -> /etc: a loop inside the rootfs; seen from the
    // host, etc leads to the empty temporary directory.
    const outside = outsideDir('loop');
    const rootfs = rootfsWithEtc('loop', outside);
    fs.mkdirSync(path.dirname(path.join(rootfs, outside)), { recursive: true });
    fs.symlinkSync('/etc', path.join(rootfs, outside));
    const r = await engine.isula(['run', '--rm', '--external-rootfs', rootfs, 'none', 'true']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /cannot make the mount point \/etc\/hostname inside the container's rootfs: .*too many levels of symbolic links/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    empty(outside);
    assert.equal(await cli.ok(['ps', '-a', '-q']), '');
  });

  it('mount and device destinations with .. stay inside the container: nothing appears under the host /tmp', async () => {
    const src = outsideDir('src');
    fs.writeFileSync(path.join(src, 'marker'), 'inside\n');
    const [bindDst, tmpfsDst, mountDst, devDst] = escapes.map((e) => `${up}${e}`);
    const flags = ['-v', `${src}:${bindDst}:ro`, '--tmpfs', tmpfsDst!, '--mount', `type=tmpfs,dst=${mountDst}`, '--device', `/dev/null:${devDst}`];
    const r = await cli.withRootfs(
      'run',
      ['--rm', ...flags],
      [
        'sh',
        '-c',
        `cat /tmp/${escapeName}/marker; grep -c " /tmp/${escapeName}-\\(tmpfs\\|mount\\) " /proc/self/mountinfo; test -c /tmp/${escapeName}-dev && echo dev`,
      ],
    );
    for (const e of escapes) assert.equal(fs.existsSync(e), false, `${e} was made on the host`);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'inside\n2\ndev\n');
    // the cleaned destinations are what the container keeps
    const id = await cli.create(flags, ['true']);
    const binds = await cli.ok(['inspect', '-f', '{{json .HostConfig.Binds}}', id]);
    assert.deepEqual(JSON.parse(binds), [`${src}:/tmp/${escapeName}:ro`]);
    await cli.ok(['rm', id]);
  });

  it('a destination with a space or a tab is mounted where it names, not read as more fields of the LXC entry', async () => {
    const src = outsideDir('space');
    fs.writeFileSync(path.join(src, 'marker'), 'spaced\n');
    const r = await cli.withRootfs(
      'run',
      ['--rm', '-v', `${src}:/with space/and\ttab`, '--tmpfs', '/tmp fs'],
      ['sh', '-c', 'cat "/with space/and\ttab/marker"; grep -cF " /tmp\\\\040fs " /proc/self/mountinfo'],
    );
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'spaced\n1\n');
  });

  it('a newline in tmpfs options cannot add a key to the LXC config (a hook run on the host)', async () => {
    const marker = outsideDir('inject');
    const r = await cli.withRootfs('run', ['--rm', '--tmpfs', `/inj:size=1m\nlxc.hook.pre-start = /bin/touch ${marker}/ran`], ['true']);
    assert.deepEqual(fs.readdirSync(marker), [], 'the injected hook ran on the host');
    assert.equal(r.code, 125, show(r));
    assert.equal(r.stderr, 'Error response from daemon: invalid mount "/inj": must not contain a newline\n');
    assert.equal(await cli.ok(['ps', '-a', '-q']), '');
  });

  it('--external-rootfs that is, or resolves to, the host root is refused and nothing is created', async () => {
    const link = path.join(outsideDir('rootlink'), 'root');
    fs.symlinkSync('/', link);
    for (const given of ['/', '/tmp/..', link]) {
      const r = await engine.isula(['create', '--external-rootfs', given, 'none', 'true']);
      assert.equal(r.code, 125, show(r));
      assert.equal(
        r.stderr.trim(),
        `Error response from daemon: --external-rootfs ${given}: resolves to the host's root directory /, which cannot be a container's rootfs`,
      );
    }
    assert.equal(await cli.ok(['ps', '-a', '-q']), '');
  });

  it('-u looks users up in the rootfs, never in a host file its etc/passwd links to', async () => {
    const outside = outsideDir('passwd');
    fs.writeFileSync(path.join(outside, 'passwd'), 'escapee:x:4242:4242::/:/bin/sh\n');
    const rootfs = freshRootfs('passwd');
    dirs.push(rootfs);
    fs.rmSync(path.join(rootfs, 'etc', 'passwd'));
    fs.symlinkSync(path.join(outside, 'passwd'), path.join(rootfs, 'etc', 'passwd'));
    const r = await engine.isula(['create', '-u', 'escapee', '--external-rootfs', rootfs, 'none', 'true']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /unable to find user escapee: no matching entries in passwd file/);
    assert.equal(await cli.ok(['ps', '-a', '-q']), '');
  });
});
