import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cli, eventually, show, sleepMs } from '../helpers/cli.js';
import { ISULA, TestEngine } from '../helpers/engine.js';
import { cgroupsOf, processesOf, reap } from '../helpers/processes.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * A daemon killed at a bad moment, a start that times out and a full disk leave every
 * container in the state its record shows: no process of a container runs unless the
 * container reads as running, and nothing is shown that the disk does not hold.
 */

/** A --hook-spec whose prestart hook sleeps, so a start lasts `seconds` with the container's init already made. */
function slowStartHooks(dir: string, seconds: number): string {
  const file = path.join(dir, `slow-${seconds}.json`);
  fs.writeFileSync(file, JSON.stringify({ prestart: [{ path: '/bin/sleep', args: ['sleep', String(seconds)] }] }));
  return file;
}

async function assertNothingRuns(id: string, what: string): Promise<void> {
  assert.deepEqual(processesOf(id), [], `${what}: no process of ${id} may run`);
  await eventually(`${what}: the cgroups of ${id} to go`, () => (cgroupsOf(id).length === 0 ? true : undefined), 5000);
}

describe('SIGKILL of the daemon while a container starts', () => {
  let engine: TestEngine;
  let cli: Cli;
  let id = '';
  before(async () => {
    engine = await TestEngine.start();
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    await engine.cleanup();
    reap([id]);
  });

  it('leaves no process of a container whose record is not running, and the container starts again', async () => {
    id = (
      await cli.ok(['create', '--name', 'slow', '--hook-spec', slowStartHooks(engine.dir, 3), '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000'])
    ).trim();
    const start = spawn(ISULA, ['-H', engine.host, 'start', 'slow'], { stdio: 'ignore', env: process.env });
    start.on('error', () => undefined);
    const client = new Promise((res) => start.on('close', res));
    await eventually('lxc-start of the container', () => (processesOf(id).some((p) => p.includes('lxc-start')) ? true : undefined));
    await sleepMs(500);
    await engine.kill9();
    await client;
    // The start goes on without the daemon: the hook ends and the init would run.
    await sleepMs(3500);
    await engine.startDaemon();
    assert.doesNotMatch(await cli.status('slow'), /^running/);
    await assertNothingRuns(id, 'after the restart');
    await cli.ok(['start', 'slow']);
    assert.match(await cli.status('slow'), /^running /);
    await cli.ok(['rm', '-f', 'slow']);
    await assertNothingRuns(id, 'after rm -f');
  });

  it('removes at start what a create or rm killed half-way left: a directory without records, state and exit records without a container', async () => {
    const lost = 'ab'.repeat(32);
    const dir = path.join(engine.root, 'engines', 'lcr', lost);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'hostconfig.json'), '{}');
    const stateDir = path.join(engine.state, 'lcr', lost);
    fs.mkdirSync(stateDir, { recursive: true });
    spawnSync('mkfifo', [path.join(stateDir, 'stdout')]);
    fs.writeFileSync(path.join(engine.state, 'lcr', 'exits', lost), '0\n');
    await engine.restart();
    for (const p of [dir, stateDir, path.join(engine.state, 'lcr', 'exits', lost)]) assert.ok(!fs.existsSync(p), `${p} is removed`);
    assert.deepEqual(await cli.names(), []);
  });
});

describe('a start that times out', () => {
  let engine: TestEngine;
  let cli: Cli;
  let id = '';
  before(async () => {
    engine = await TestEngine.start(['--start-timeout', '1s']);
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    await engine.cleanup();
    reap([id]);
  });

  it('kills what it launched before it fails, every time', async () => {
    id = (
      await cli.ok(['create', '--name', 'late', '--hook-spec', slowStartHooks(engine.dir, 4), '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000'])
    ).trim();
    for (let i = 0; i < 2; i++) {
      const r = await cli.isula(['start', 'late']);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, /did not start within the start-timeout \(1s\)/, show(r));
      assert.doesNotMatch(await cli.status('late'), /^running/);
      await assertNothingRuns(id, `after timed-out start ${i + 1}`);
    }
    // The hook has long finished: nothing started late either.
    await sleepMs(4000);
    await assertNothingRuns(id, 'once the hook would have finished');
    await cli.ok(['rm', 'late']);
  });
});

describe('a full disk', () => {
  let engine: TestEngine;
  let cli: Cli;
  let mounted = false;
  before(async () => {
    engine = await TestEngine.start();
    await engine.stop();
    fs.rmSync(engine.root, { recursive: true, force: true });
    fs.mkdirSync(engine.root);
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', engine.root]).status, 0, 'mount a 2 MB tmpfs as the root');
    mounted = true;
    await engine.startDaemon();
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    fs.rmSync(path.join(engine.root, 'filler'), { force: true });
    const ps = await cli.isula(['ps', '-aq']).catch(() => undefined);
    const ids = ps?.stdout.split('\n').filter(Boolean) ?? [];
    if (ids.length > 0) await cli.isula(['rm', '-f', ...ids]);
    await engine.stop();
    if (mounted) spawnSync('umount', [engine.root]);
    await engine.cleanup();
  });

  /** Fills the root's filesystem to the last byte. */
  function fill(): void {
    const fd = fs.openSync(path.join(engine.root, 'filler'), 'w');
    try {
      for (const size of [65536, 4096, 512, 1]) {
        const chunk = Buffer.alloc(size);
        try {
          for (;;) fs.writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  const tempFiles = (id: string): string[] => fs.readdirSync(path.join(engine.root, 'engines', 'lcr', id)).filter((f) => f.endsWith('.tmp'));

  it('a failed start and a failed rename change nothing, before and after a restart', async () => {
    const id = (await cli.ok(['create', '--name', 'full', '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000'])).trim();
    await cli.ok(['run', '-d', '--name', 'up', '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000']);
    fill();
    const pause = await cli.isula(['pause', 'up']);
    assert.notEqual(pause.code, 0, `pause on a full disk fails: ${show(pause)}`);
    assert.match(await cli.status('up'), /^running /, 'the failed pause is undone');
    await cli.ok(['exec', 'up', 'true']);
    const start = await cli.isula(['start', 'full']);
    assert.notEqual(start.code, 0, `start on a full disk fails: ${show(start)}`);
    const rename = await cli.isula(['rename', 'full', 'other']);
    assert.notEqual(rename.code, 0, `rename on a full disk fails: ${show(rename)}`);
    const check = async (when: string): Promise<void> => {
      assert.deepEqual(await cli.names(), ['full', 'up'], `${when}: the old name`);
      assert.match(await cli.status('up'), /^running /, `${when}: up runs, not paused`);
      assert.equal((await cli.ok(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', 'full'])).trim(), 'inited 0', `${when}: not started`);
      assert.doesNotMatch((await cli.ok(['ps', '-a'])).split('\n').find((l) => l.endsWith('full')) ?? '', /\bUp\b/, `${when}: ps shows full not Up`);
      await assertNothingRuns(id, when);
    };
    await check('on the full disk');
    assert.deepEqual(tempFiles(id), [], 'failed writes leave no temp files');
    fs.rmSync(path.join(engine.root, 'filler'));
    await engine.restart();
    await check('after a restart');
    await cli.ok(['start', 'full']);
    assert.match(await cli.status('full'), /^running /);
    await cli.ok(['rename', 'full', 'other']);
    assert.deepEqual(await cli.names(), ['other', 'up']);
  });
});

describe('a start whose helper cannot be run', () => {
  let engine: TestEngine;
  let cli: Cli;
  // The daemon's PATH: links to every program of the host's, so lxc-start can be taken away
  // after the daemon has found it at its start.
  const bin = fs.mkdtempSync('/tmp/isulad-test-path-');
  before(async () => {
    for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
        if (!fs.existsSync(path.join(bin, name))) fs.symlinkSync(path.join(dir, name), path.join(bin, name));
      }
    }
    const hostPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      engine = await TestEngine.start();
    } finally {
      process.env.PATH = hostPath;
    }
    cli = new Cli(engine, busyboxRootfs());
  });
  after(async () => {
    await engine.cleanup();
    fs.rmSync(bin, { recursive: true, force: true });
  });

  it('fails at once with the reason, leaves nothing running, and the container starts once it can', async () => {
    const id = (await cli.ok(['create', '--name', 'nohelper', '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000'])).trim();
    const lxcStart = fs.readlinkSync(path.join(bin, 'lxc-start'));
    fs.rmSync(path.join(bin, 'lxc-start'));
    const t0 = Date.now();
    const start = await cli.isula(['start', 'nohelper']);
    assert.notEqual(start.code, 0, `start without lxc-start fails: ${show(start)}`);
    assert.match(start.stderr, /cannot run lxc-start: .*ENOENT/, show(start));
    assert.ok(Date.now() - t0 < 10_000, `the failure comes at once, not at the start-timeout (${Date.now() - t0} ms)`);
    assert.equal((await cli.ok(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', 'nohelper'])).trim(), 'inited 0');
    await assertNothingRuns(id, 'after the failed start');
    fs.symlinkSync(lxcStart, path.join(bin, 'lxc-start'));
    await cli.ok(['start', 'nohelper']);
    assert.match(await cli.status('nohelper'), /^running /);
  });
});
