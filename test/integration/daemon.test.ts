import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ISULA, ISULAD, run, TestEngine } from '../helpers/engine.js';

describe('isulad daemon and isula client', () => {
  let engine: TestEngine;
  before(async () => {
    engine = await TestEngine.start();
  });
  after(async () => {
    await engine.cleanup();
  });

  it('isulad --version prints the version and exits 0', async () => {
    const r = await run(ISULAD, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Version \d+\.\d+\.\d+/);
  });

  it("the executable ignores Node's NODE_EXTRA_CA_CERTS", async () => {
    // Plain Node would parse the file at start and warn that it cannot.
    const r = await run(ISULA, ['--version'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const own = await run(ISULA, ['--version'], { env: { ...process.env, ISULAD_NODE_CA_FILE: '/nonexistent/ca.pem' } });
    assert.match(own.stderr, /Ignoring extra certs from `\/nonexistent\/ca\.pem`/);
  });

  it('isula version shows client and server sections', async () => {
    const r = await engine.isula(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Client:\n {2}Version: +\d+\.\d+\.\d+/);
    assert.match(r.stdout, /Server:\n {2}Version: +\d+\.\d+\.\d+/);
    assert.match(r.stdout, new RegExp(`Root dir: +${engine.root}`));
  });

  it('isula info shows host and engine facts', async () => {
    const r = await engine.isula(['info']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^CPUs: ${os.cpus().length}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Architecture: ${os.machine()}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Kernel Version: ${os.release().replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^iSulad Root Dir: ${engine.root}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^iSulad State Dir: ${engine.state}$`, 'm'));
    assert.match(r.stdout, /^Default Runtime: lcr$/m);
    assert.match(r.stdout, /^Cgroup Version: (v1|v2|hybrid)$/m);
    assert.match(r.stdout, /^Containers: \d+$/m);
    const v2Root = '/sys/fs/cgroup/cgroup.controllers';
    const pids = fs.existsSync('/sys/fs/cgroup/pids') || (fs.existsSync(v2Root) && /\bpids\b/.test(fs.readFileSync(v2Root, 'utf8')));
    assert.match(r.stdout, new RegExp(`^Kernel Features: .*\\bpids=${pids ? 'yes' : 'no'}\\b`, 'm'));
    if (/\toverlay$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'))) {
      assert.match(r.stdout, /^Kernel Features: .*\boverlay=yes\b/m);
      assert.match(r.stdout, /^Storage Driver: overlay2$/m);
    }
  });

  it('the socket is mode 0660 and the pidfile holds the daemon pid', () => {
    assert.equal(fs.statSync(engine.sock).mode & 0o777, 0o660);
    assert.equal(fs.readFileSync(engine.pidfile, 'utf8').trim(), String(engine.pid));
  });

  it('a second daemon on the same pidfile refuses and names the running pid', async () => {
    const r = await run(ISULAD, [
      '-g',
      path.join(engine.dir, 'other'),
      '-S',
      path.join(engine.dir, 'other-state'),
      '-H',
      `unix://${engine.dir}/2.sock`,
      '-p',
      engine.pidfile,
      '--config-file',
      path.join(engine.dir, 'daemon.json'),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`already running with pid ${engine.pid}`));
    assert.equal(fs.existsSync(`${engine.dir}/2.sock`), false);
  });

  it('a second daemon on the same graph refuses', async () => {
    const r = await run(ISULAD, [
      '-g',
      engine.root,
      '-S',
      path.join(engine.dir, 'other-state'),
      '-H',
      `unix://${engine.dir}/3.sock`,
      '-p',
      `${engine.dir}/3.pid`,
      '--config-file',
      path.join(engine.dir, 'daemon.json'),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`already running with pid ${engine.pid}.*graph`));
  });

  it('ISULAD_HOST picks the daemon when -H is not given', async () => {
    const r = await run(ISULA, ['version'], { env: { ...process.env, ISULAD_HOST: engine.host } });
    assert.equal(r.code, 0, r.stderr);
  });

  it('the daemon log has one line per event with time, level and module', () => {
    const log = fs.readFileSync(path.join(engine.root, 'isulad.log'), 'utf8');
    assert.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO +\[daemon\] .*starting/m);
    assert.match(log, /\[server\] listening on unix:\/\//);
  });
});

describe('daemon configuration errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-conf-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const daemon = (config: string, extra: string[] = []) => {
    const file = path.join(dir, 'daemon.json');
    fs.writeFileSync(file, config);
    return run(ISULAD, ['--config-file', file, '-g', `${dir}/r`, '-S', `${dir}/s`, '-p', `${dir}/p.pid`, '-H', `unix://${dir}/s.sock`, ...extra]);
  };

  it('an unknown key is refused naming the key', async () => {
    const r = await daemon('{"no-such-key": 1}');
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /no-such-key/);
  });

  it('a socket where no directory can be made is refused at once, naming the socket', async () => {
    const file = path.join(dir, 'daemon.json');
    fs.writeFileSync(file, '{}');
    const r = await run(ISULAD, ['--config-file', file, '-g', `${dir}/r`, '-S', `${dir}/s`, '-p', `${dir}/p.pid`, '-H', 'unix:///proc/nope/x.sock'], {
      timeoutMs: 10_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/proc\/nope\/x\.sock/);
  });

  it('a key of the wrong type is refused naming the key', async () => {
    const r = await daemon('{"log-level": 3}');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"log-level" must be a string/);
  });

  it('a list key given both as flag and in the file is refused', async () => {
    const r = await daemon(`{"hosts": ["unix://${dir}/x.sock"]}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"hosts" is set both by the -H\/--host flag and in daemon.json/);
  });

  it('a missing file named by --config-file is an error', async () => {
    const r = await run(ISULAD, ['--config-file', `${dir}/missing.json`, '-g', `${dir}/r`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /missing\.json.*no such file/);
  });

  it('an unknown flag is refused', async () => {
    const r = await run(ISULAD, ['--no-such-flag']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no-such-flag/);
  });

  it('a bad log level is refused', async () => {
    const r = await daemon('{}', ['-l', 'LOUD']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /log-level "LOUD"/);
  });
});

describe('daemon lifecycle', () => {
  it('SIGTERM removes the socket and the pidfile and exits 0', async () => {
    const engine = await TestEngine.start();
    try {
      assert.equal(await engine.stop(), 0);
      assert.equal(fs.existsSync(engine.sock), false);
      assert.equal(fs.existsSync(engine.pidfile), false);
    } finally {
      await engine.cleanup();
    }
  });

  it('settings come from daemon.json when no flag names them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-json-'));
    const file = path.join(dir, 'daemon.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ graph: `${dir}/g`, state: `${dir}/s`, hosts: [`unix://${dir}/j.sock`], pidfile: `${dir}/j.pid`, 'log-level': 'DEBUG' }),
    );
    const child = (await import('node:child_process')).spawn(ISULAD, ['--config-file', file], { stdio: 'ignore' });
    try {
      let r = await run(ISULA, ['-H', `unix://${dir}/j.sock`, 'info']);
      for (let i = 0; i < 100 && r.code !== 0; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await run(ISULA, ['-H', `unix://${dir}/j.sock`, 'info']);
      }
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^iSulad Root Dir: ${dir}/g$`, 'm'));
      assert.match(r.stdout, /^Log Level: DEBUG$/m);
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => child.on('exit', res));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('isula client without a daemon', () => {
  it('prints one line naming the socket and exits 1', async () => {
    const r = await run(ISULA, ['-H', 'unix:///tmp/isulad-test-none.sock', 'version']);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /Cannot connect to the isulad daemon at unix:\/\/\/tmp\/isulad-test-none\.sock/);
  });

  it('an unknown command exits 125', async () => {
    const r = await run(ISULA, ['frobnicate']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /'frobnicate' is not an isula command/);
  });

  it('isula --help lists every command with a description', async () => {
    const r = await run(ISULA, ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /version +Display information about isula/);
    assert.match(r.stdout, /info +Display system-wide information/);
  });

  it('isula COMMAND --help shows the command usage', async () => {
    const r = await run(ISULA, ['info', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: +isula info/);
    // The description stays whole under the longest usage line.
    const create = await run(ISULA, ['create', '--help']);
    assert.equal(create.code, 0);
    assert.match(create.stdout, /^Create a new container$/m);
  });
});
