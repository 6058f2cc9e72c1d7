import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, show } from '../helpers/cli.js';
import { DIST, ISULA, ISULAD, run, TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/** iSulad 2.1.6's /etc/isulad/daemon.json (src/contrib/config/daemon.json), key for key. */
const SHIPPED_DAEMON_JSON = {
  group: 'isula',
  'default-runtime': 'runc',
  graph: '/var/lib/isulad',
  state: '/var/run/isulad',
  'log-level': 'ERROR',
  pidfile: '/var/run/isulad.pid',
  'log-opts': { 'log-file-mode': '0600', 'log-path': '/var/lib/isulad', 'max-file': '1', 'max-size': '30KB' },
  'log-driver': 'stdout',
  'container-log': { driver: 'json-file' },
  'hook-spec': '/etc/default/isulad/hooks/default.json',
  'start-timeout': '2m',
  'storage-driver': 'overlay2',
  'storage-opts': ['overlay2.override_kernel_check=true'],
  'registry-mirrors': [],
  'insecure-registries': [],
  'pod-sandbox-image': '',
  'native.umask': 'normal',
  'network-plugin': '',
  'cni-bin-dir': '',
  'cni-conf-dir': '',
  'image-layer-check': false,
  'use-decrypted-key': true,
  'insecure-skip-verify-enforce': false,
  'cri-runtimes': { kata: 'io.containerd.kata.v2' },
};

/** An iSulad 2.0 file: keys the current schema dropped (image-opt-timeout, image-server-sock-addr). */
const OLDER_DAEMON_JSON = {
  group: 'isulad',
  'default-runtime': 'lcr',
  engine: 'lcr',
  'log-level': 'INFO',
  'log-driver': 'stdout',
  'hook-spec': '/etc/default/isulad/hooks/default.json',
  'start-timeout': '2m',
  'image-opt-timeout': '5m',
  'image-server-sock-addr': 'unix:///var/run/isulad/isula_image.sock',
  'native.umask': 'secure',
  'use-decrypted-key': true,
};

/**
 * Flags that keep a test daemon off the host's directories, as the tests' own flags do: the
 * socket group (the package creates `isula`; this host need not have it) and the hooks file
 * (the package installs iSulad's; here a copy of it).
 */
function hostOverrides(dir: string): string[] {
  const hooks = path.join(dir, 'default.json');
  fs.writeFileSync(hooks, '{\n"prestart":[],\n"poststop":[],\n"poststart":[]\n}\n');
  return ['-G', 'root', '--hook-spec', hooks];
}

/** A free port on 127.0.0.1 (tests never listen on anything else). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const logOf = (engine: TestEngine): string => {
  const file = path.join(engine.root, 'isulad.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
};

describe("iSulad's daemon.json", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-dropin-'));
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('the shipped file starts the daemon unchanged, warns once per ignored key, and containers run on lcr', async () => {
    // Its log-level ERROR would hide the warnings this test reads.
    const engine = await TestEngine.start([...hostOverrides(scratch), '-l', 'WARN'], SHIPPED_DAEMON_JSON);
    try {
      const r = await engine.isula(['run', '--rm', '--external-rootfs', busyboxRootfs(), 'none', 'echo', 'hello from lcr']);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, 'hello from lcr\n');
      assert.match((await engine.isula(['info'])).stdout, /Default Runtime: lcr/);
      // log-driver stdout, as shipped.
      const warnings = engine.stdout.split('\n').filter((l) => / WARN .*daemon\.json|default-runtime/.test(l));
      assert.deepEqual(
        warnings.map((l) => l.replace(/^.*\] /, '')),
        [
          'daemon.json: "cri-runtimes" ignored: the CRI services are off (enable-cri-v1 is false)',
          'default-runtime "runc": OCI runtimes are not available yet; containers that name no runtime run on lcr',
        ],
        engine.stdout,
      );
      // Asking for runc by name is refused, saying why.
      const runc = await engine.isula(['create', '--runtime', 'runc', '--external-rootfs', busyboxRootfs(), 'none', 'true']);
      assert.equal(runc.code, 125, show(runc));
      assert.match(runc.stderr, /OCI runtimes are not available yet/);
    } finally {
      await engine.cleanup();
    }
  });

  it("an older release's file starts the daemon, naming the keys it ignores; a misspelt key still stops it", async () => {
    const engine = await TestEngine.start(hostOverrides(scratch), OLDER_DAEMON_JSON);
    try {
      assert.match(engine.stdout, /WARN .*daemon\.json: "image-opt-timeout" is a key of older iSulad releases; ignored/);
      assert.match(engine.stdout, /WARN .*daemon\.json: "image-server-sock-addr" is a key of older iSulad releases; ignored/);
      assert.equal((await engine.isula(['version'])).code, 0);
    } finally {
      await engine.cleanup();
    }
    const file = path.join(scratch, 'misspelt.json');
    fs.writeFileSync(file, JSON.stringify({ 'image-opt-timout': '5m' }));
    const r = await run(ISULAD, [
      '--config-file',
      file,
      '-g',
      path.join(scratch, 'g'),
      '-S',
      path.join(scratch, 's'),
      '-p',
      path.join(scratch, 'pid'),
      '-H',
      `unix://${scratch}/s.sock`,
    ]);
    assert.equal(r.code, 125, show(r));
    assert.equal(r.stderr, 'isulad: daemon.json: unknown key "image-opt-timout" (did you mean "image-opt-timeout"?)\n');
  });
});

describe('the daemon log', () => {
  let engine: TestEngine;
  before(async () => {
    engine = await TestEngine.start();
  });
  after(async () => {
    await engine.cleanup();
  });

  it('records container lifecycle events and failed starts with their reason at INFO', async () => {
    const r = await engine.isula(['run', '--name', 'logged', '--external-rootfs', busyboxRootfs(), 'none', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, show(r));
    const id = (await engine.isula(['inspect', '-f', '{{.Id}}', 'logged'])).stdout.trim();
    assert.equal((await engine.isula(['rm', 'logged'])).code, 0);
    const bad = await engine.isula(['run', '--name', 'nocmd', '--external-rootfs', busyboxRootfs(), 'none', '/no/such/command']);
    assert.notEqual(bad.code, 0, show(bad));
    const log = await eventually('the destroy line', () => (/container destroy /.test(logOf(engine)) ? logOf(engine) : undefined));
    for (const action of ['create', 'start', 'die', 'destroy']) assert.match(log, new RegExp(`INFO +\\[events\\] container ${action} ${id} name=logged`), log);
    assert.match(log, new RegExp(`container die ${id} name=logged .*exitCode=3`));
    assert.match(log, /INFO +\[container\] container [0-9a-f]{64} name=nocmd failed to start: .*\/no\/such\/command/);
    await engine.isula(['rm', '-f', 'nocmd']);
  });
});

describe('isulad --help', () => {
  it('wraps its descriptions at word boundaries', async () => {
    const r = await run(ISULAD, ['--help']);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(
      lines.every((l) => l.length <= 80),
      r.stdout,
    );
    // Paths and URLs come out whole, never cut inside a word.
    for (const word of ['unix:///var/run/isulad.sock', '/var/lib/isulad', '/var/run/isulad)', '/etc/isulad/daemon.json)'])
      assert.ok(r.stdout.includes(word), `${word} in\n${r.stdout}`);
    assert.match(r.stdout, /--tlsverify/);
  });
});

describe('remote access over tcp:// and TLS (127.0.0.1 only)', () => {
  const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-tls-'));
  const pem = (name: string): string => path.join(certs, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  /** A CA, a certificate it signs for `cn` with `ext`, and its key. */
  const issue = (ca: string, name: string, cn: string, ext: string): void => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem(`${name}-key.pem`), '-out', pem(`${name}.csr`), '-subj', `/CN=${cn}`);
    fs.writeFileSync(pem(`${name}.ext`), ext);
    openssl(
      'x509',
      '-req',
      '-in',
      pem(`${name}.csr`),
      '-CA',
      pem(`${ca}.pem`),
      '-CAkey',
      pem(`${ca}-key.pem`),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      pem(`${name}.pem`),
      '-extfile',
      pem(`${name}.ext`),
    );
  };
  let engine: TestEngine;
  let port: number;
  let host: string;
  before(async () => {
    for (const ca of ['ca', 'other-ca'])
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem(`${ca}-key.pem`), '-out', pem(`${ca}.pem`), '-days', '2', '-subj', `/CN=${ca}`);
    issue('ca', 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    issue('ca', 'client', 'client', 'extendedKeyUsage=clientAuth\n');
    issue('other-ca', 'stranger', 'stranger', 'extendedKeyUsage=clientAuth\n');
    port = await freePort();
    host = `tcp://127.0.0.1:${port}`;
    engine = await TestEngine.start([
      '-H',
      host,
      '--tlsverify',
      '--tlscacert',
      pem('ca.pem'),
      '--tlscert',
      pem('server.pem'),
      '--tlskey',
      pem('server-key.pem'),
    ]);
  });
  after(async () => {
    await engine?.cleanup();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  const tlsClient = (cert: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run(ISULA, ['-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), '--tlscert', pem(`${cert}.pem`), '--tlskey', pem(`${cert}-key.pem`), ...args]);

  it('mutual TLS: a client with a certificate of the CA runs containers', async () => {
    const v = await tlsClient('client', ['version']);
    assert.equal(v.code, 0, show(v));
    assert.match(v.stdout, /Server:\n {2}Version:/);
    const r = await tlsClient('client', ['run', '--rm', '--external-rootfs', busyboxRootfs(), 'none', 'echo', 'over tls']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'over tls\n');
    // ISULAD_HOST names the host too, and the flags may follow the command.
    const env = { ...process.env, ISULAD_HOST: host };
    const ps = await run(ISULA, ['ps', '-a', '--tlsverify', '--tlscacert', pem('ca.pem'), '--tlscert', pem('client.pem'), '--tlskey', pem('client-key.pem')], {
      env,
    });
    assert.equal(ps.code, 0, show(ps));
    assert.match(logOf(engine), new RegExp(`listening on ${host} \\(TLS, client certificates required\\)`));
  });

  it('refuses a client without a certificate, or with one of another CA, and plain TCP', async () => {
    const none = await run(ISULA, [
      '-H',
      host,
      '--tlsverify',
      '--tlscacert',
      pem('ca.pem'),
      '--tlscert',
      pem('absent.pem'),
      '--tlskey',
      pem('absent-key.pem'),
      'version',
    ]);
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /TLS handshake with the daemon failed: .*certificate/i);
    const stranger = await tlsClient('stranger', ['version']);
    assert.equal(stranger.code, 1, show(stranger));
    assert.match(stranger.stderr, /TLS handshake with the daemon failed/);
    const plain = await run(ISULA, ['-H', host, 'version']);
    assert.equal(plain.code, 1, show(plain));
    assert.doesNotMatch(plain.stdout, /Server:/);
    await eventually('refusals in the log', () => ((logOf(engine).match(/refused a TLS client/g) ?? []).length >= 3 ? true : undefined));
    // A CA file that is not there is the user's to fix, on either side, before any connection.
    const noCa = await run(ISULA, ['-H', host, '--tlsverify', '--tlscacert', pem('absent-ca.pem'), 'version']);
    assert.equal(noCa.code, 125, show(noCa));
    assert.match(noCa.stderr, /cannot read the TLS CA certificate .*absent-ca\.pem: no such file/);
    const away = ['-g', pem('g'), '-S', pem('s'), '-p', pem('pid'), '--config-file', engine.configFile()];
    const daemon = await run(ISULAD, [
      ...away,
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      pem('absent-ca.pem'),
      '--tlscert',
      pem('server.pem'),
      '--tlskey',
      pem('server-key.pem'),
    ]);
    assert.equal(daemon.code, 125, show(daemon));
    assert.match(daemon.stderr, /cannot read --tlscacert .*absent-ca\.pem: no such file/);
    assert.ok(!fs.existsSync(pem('g')), 'a refused start leaves nothing made');
  });

  it('serves plain tcp:// only when asked with --tls=false, warning at every start', async () => {
    const plainPort = await freePort();
    const plainHost = `tcp://127.0.0.1:${plainPort}`;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-plain-'));
    try {
      const refused = await run(ISULAD, [
        '-g',
        path.join(scratch, 'g'),
        '-S',
        path.join(scratch, 's'),
        '-p',
        path.join(scratch, 'pid'),
        '-H',
        plainHost,
        '--config-file',
        engine.configFile(),
      ]);
      assert.equal(refused.code, 125, show(refused));
      assert.match(refused.stderr, new RegExp(`refusing to listen on ${plainHost} without TLS: give --tlsverify`));
      assert.ok(!fs.existsSync(path.join(scratch, 'g')), 'a refused start leaves nothing made');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    const plain = await TestEngine.start(['-H', plainHost, '--tls=false']);
    try {
      const r = await run(ISULA, ['-H', plainHost, 'info']);
      assert.equal(r.code, 0, show(r));
      await plain.restart();
      // The unix socket is up first; the tcp one follows.
      const warned = (): number => (logOf(plain).match(new RegExp(`WARN .*listening on ${plainHost} WITHOUT TLS`, 'g')) ?? []).length;
      await eventually('the warning of the second start', () => (warned() === 2 ? true : undefined));
    } finally {
      await plain.cleanup();
    }
  });
});

describe('bash completion for isula', () => {
  let engine: TestEngine;
  const script = path.resolve('build/completion/isula.bash');
  before(async () => {
    engine = await TestEngine.start();
    const r = await engine.isula(['create', '--name', 'completion-target', '--external-rootfs', busyboxRootfs(), 'none', 'true']);
    assert.equal(r.code, 0, show(r));
  });
  after(async () => {
    await engine.cleanup();
  });

  /** What the completion offers for the line `words`, the last word being completed. */
  async function complete(...words: string[]): Promise<string[]> {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const program = `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _isula; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await run('bash', ['-c', program], { env: { ...process.env, PATH: `${DIST}:${process.env.PATH}` } });
    assert.equal(r.code, 0, show(r));
    return r.stdout.split('\n').filter(Boolean);
  }

  it('offers commands, the flags of run, and container names from the daemon', async () => {
    assert.deepEqual(await complete('isula', 'st'), ['start', 'stop']);
    const runFlags = await complete('isula', '-H', engine.host, 'run', '--');
    // The TLS flags every command takes come from the client's own help.
    for (const flag of ['--name', '--external-rootfs', '--detach', '--rm', '--memory', '--tlsverify'])
      assert.ok(runFlags.includes(flag), `${flag} in ${runFlags.join(' ')}`);
    assert.deepEqual(await complete('isula', '-H', engine.host, 'start', 'completion-t'), ['completion-target']);
    assert.deepEqual(await complete('isula', '-H', engine.host, 'exec', '-e', 'A=1', 'comp'), ['completion-target']);
    // A flag's value is not a container name; the image of run is.
    assert.deepEqual(await complete('isula', '-H', engine.host, 'run', '--name', ''), []);
    assert.deepEqual(await complete('isula', '-H', engine.host, 'run', '-d', 'no'), ['none']);
  });
});
