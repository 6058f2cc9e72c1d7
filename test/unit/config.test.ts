import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDaemonConfig } from '../../src/daemon/config/config.js';
import { validateDaemonJson } from '../../src/daemon/config/validate.js';
import { EngineError } from '../../src/api/errors.js';
import { parseHost } from '../../src/common/host.js';
import { daemonHelp, wrapWords } from '../../src/daemon/flags.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-conf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
function withFile(doc: unknown): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

describe('daemon.json validation', () => {
  it('accepts iSulad keys with the right types', () => {
    assert.doesNotThrow(() =>
      validateDaemonJson({
        graph: '/g',
        hosts: ['unix:///a.sock'],
        'log-opts': { 'max-size': '1MB' },
        'container-log': { driver: 'json-file', opts: { 'max-file': '3' } },
        runtimes: { runc: { path: '/usr/sbin/runc', runtimeArgs: [] } },
        'websocket-server-listening-port': 10350,
        'enable-cri-v1': true,
        'native.umask': 'secure',
      }),
    );
  });

  const rejects: [string, unknown, RegExp][] = [
    ['unknown key', { 'no-such-key': 1 }, /unknown key "no-such-key"/],
    ['string given a number', { graph: 1 }, /"graph" must be a string/],
    ['array of strings given a string', { hosts: 'unix:///a' }, /"hosts" must be an array of strings/],
    ['boolean given a string', { 'selinux-enabled': 'yes' }, /"selinux-enabled" must be true or false/],
    ['integer given a float', { 'metrics-port': 1.5 }, /"metrics-port" must be an integer/],
    ['unknown nested key', { 'container-log': { driver: 'x', bogus: 1 } }, /unknown key "container-log.bogus"/],
    ['wrong nested type', { runtimes: { runc: { path: 3 } } }, /"runtimes.runc.path" must be a string/],
    ['top level not an object', [1, 2], /top level must be a JSON object/],
  ];
  for (const [what, doc, message] of rejects) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => validateDaemonJson(doc),
        (e: unknown) => e instanceof EngineError && message.test(e.message),
      );
    });
  }
});

describe('loadDaemonConfig', () => {
  it('uses iSulad defaults when the default file is missing', () => {
    const c = loadDaemonConfig({ configFile: withFile('{}') });
    assert.equal(c.graph, '/var/lib/isulad');
    assert.equal(c.state, '/var/run/isulad');
    assert.deepEqual(c.hosts, ['unix:///var/run/isulad.sock']);
    assert.equal(c.pidfile, '/var/run/isulad.pid');
    assert.equal(c.logLevel, 'INFO');
    assert.equal(c.logDriver, 'file');
    assert.equal(c.logFile, '/var/lib/isulad/isulad.log');
    assert.equal(c.defaultRuntime, 'lcr');
    assert.equal(c.logMaxFiles, 7);
    assert.equal(c.logMaxBytes, 1024 * 1024);
  });

  it('flags override scalar keys of the file', () => {
    const c = loadDaemonConfig({ configFile: withFile({ graph: '/from-file', 'log-level': 'ERROR' }), graph: '/from-flag' });
    assert.equal(c.graph, '/from-flag');
    assert.equal(c.logLevel, 'ERROR');
  });

  it('refuses list keys given both ways', () => {
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ hosts: ['unix:///a'] }), hosts: ['unix:///b'] }), /"hosts" is set both/);
  });

  it('parses log-opts into rotation settings', () => {
    const c = loadDaemonConfig({ configFile: withFile({ 'log-opts': { 'max-size': '30KB', 'max-file': '2', 'log-path': '/logs' } }) });
    assert.equal(c.logMaxBytes, 30 * 1024);
    assert.equal(c.logMaxFiles, 2);
    assert.equal(c.logFile, '/logs/isulad.log');
  });

  it('refuses an unknown log-opts key, a tiny max-size and a bad driver', () => {
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ 'log-opts': { colour: 'red' } }) }), /unknown log-opts key "colour"/);
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ 'log-opts': { 'max-size': '1KB' } }) }), /max-size/);
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ 'log-driver': 'syslog' }) }), /log-driver "syslog"/);
  });

  it('refuses a daemon.json larger than 1 MiB', () => {
    assert.throws(() => loadDaemonConfig({ configFile: withFile(`{"graph": "${'x'.repeat(1024 * 1024)}"}`) }), /larger than the limit of 1 MiB/);
  });

  it('refuses a device or a FIFO as daemon.json without reading it', () => {
    assert.throws(() => loadDaemonConfig({ configFile: '/dev/zero' }), /cannot read config file \/dev\/zero: not a regular file/);
    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => loadDaemonConfig({ configFile: fifo }), /not a regular file/);
  });

  it('a missing explicit file is an error, invalid JSON too', () => {
    assert.throws(() => loadDaemonConfig({ configFile: path.join(dir, 'nope.json') }), /no such file/);
    assert.throws(() => loadDaemonConfig({ configFile: withFile('{bad') }), /not valid JSON/);
  });

  it('accepts lcr and lxc spellings of the default runtime in any case', () => {
    assert.equal(loadDaemonConfig({ configFile: withFile({ 'default-runtime': 'LCR' }) }).defaultRuntime, 'lcr');
  });
});

describe('daemon.json of iSulad releases', () => {
  it('takes keys of older releases and keys not acted on yet with one warning line each', () => {
    const c = loadDaemonConfig({
      configFile: withFile({
        'image-opt-timeout': '5m',
        'image-server-sock-addr': 'unix:///var/run/isulad/isula_image.sock',
        'enable-cri-v1': true,
        'network-plugin': 'cni',
        'cri-runtimes': { kata: 'io.containerd.kata.v2' },
      }),
    });
    assert.deepEqual(c.warnings, [
      'daemon.json: "image-opt-timeout" is a key of older iSulad releases; ignored',
      'daemon.json: "image-server-sock-addr" is a key of older iSulad releases; ignored',
    ]);
  });

  it('ignores the CRI keys, saying why, only while enable-cri-v1 is off', () => {
    const c = loadDaemonConfig({
      configFile: withFile({ 'network-plugin': 'cni', 'cri-runtimes': { kata: 'io.containerd.kata.v2' }, 'cni-conf-dir': '/etc/cni/net.d' }),
    });
    assert.deepEqual(c.warnings, [
      'daemon.json: "network-plugin" ignored: the CRI services are off (enable-cri-v1 is false)',
      'daemon.json: "cri-runtimes" ignored: the CRI services are off (enable-cri-v1 is false)',
    ]);
  });

  it('says nothing of keys whose value asks for nothing', () => {
    const c = loadDaemonConfig({
      configFile: withFile({
        'network-plugin': '',
        'cni-bin-dir': '',
        'registry-mirrors': [],
        'use-decrypted-key': true,
        'image-layer-check': false,
        engine: 'lcr',
      }),
    });
    assert.deepEqual(c.warnings, []);
  });

  it('still refuses a misspelt key, naming the key it resembles, and an old key of the wrong type', () => {
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ 'log-levle': 'INFO' }) }), /unknown key "log-levle" \(did you mean "log-level"\?\)/);
    assert.throws(() => loadDaemonConfig({ configFile: withFile({ 'image-opt-timeout': 5 }) }), /"image-opt-timeout" must be a string/);
  });

  it('runs containers on lcr when the default runtime is an OCI one, and says so', () => {
    const c = loadDaemonConfig({ configFile: withFile({ 'default-runtime': 'runc' }) });
    assert.equal(c.defaultRuntime, 'lcr');
    assert.deepEqual(c.warnings, ['default-runtime "runc": OCI runtimes are not available yet; containers that name no runtime run on lcr']);
  });
});

describe('tcp hosts and TLS', () => {
  it('refuses tcp:// without TLS unless plain TCP is asked for, by flag or in daemon.json', () => {
    assert.throws(
      () => loadDaemonConfig({ configFile: withFile({}), hosts: ['tcp://127.0.0.1:2375'] }),
      /refusing to listen on tcp:\/\/127\.0\.0\.1:2375 without TLS/,
    );
    assert.equal(loadDaemonConfig({ configFile: withFile({}), hosts: ['tcp://127.0.0.1:2375'], tls: false }).tls.mode, 'none');
    assert.equal(loadDaemonConfig({ configFile: withFile({ tls: false, hosts: ['tcp://127.0.0.1:2375'] }) }).tls.mode, 'none');
  });

  it('--tlsverify implies TLS; flags win over tls-config; iSulad default cert folder', () => {
    const pem = (name: string): string => {
      fs.writeFileSync(path.join(dir, name), 'PEM');
      return path.join(dir, name);
    };
    const [ca, cert, key, other] = [pem('ca.pem'), pem('cert.pem'), pem('key.pem'), pem('other.pem')];
    const file = withFile({ tls: true, 'tls-config': { CAFile: ca, CertFile: cert, KeyFile: key } });
    const fromFile = loadDaemonConfig({ configFile: file, hosts: ['tcp://127.0.0.1:2376'] }).tls;
    assert.deepEqual(fromFile, { mode: 'tls', caFile: ca, certFile: cert, keyFile: key });
    const flagged = loadDaemonConfig({ configFile: file, hosts: ['tcp://127.0.0.1:2376'], tlsVerify: true, tlsCert: other }).tls;
    assert.deepEqual(flagged, { mode: 'verify', caFile: ca, certFile: other, keyFile: key });
    // Before anything is made, a certificate that is not there is named.
    assert.throws(
      () => loadDaemonConfig({ configFile: file, hosts: ['tcp://127.0.0.1:2376'], tlsVerify: true, tlsCaCert: '/nonexistent/ca.pem' }),
      /cannot read --tlscacert \/nonexistent\/ca\.pem: no such file/,
    );
    assert.deepEqual(loadDaemonConfig({ configFile: withFile({ 'tls-verify': true }) }).tls, {
      mode: 'verify',
      caFile: '/root/.iSulad/ca.pem',
      certFile: '/root/.iSulad/cert.pem',
      keyFile: '/root/.iSulad/key.pem',
    });
  });

  it('names a host it cannot parse', () => {
    assert.throws(
      () => loadDaemonConfig({ configFile: withFile({}), hosts: ['udp://1.2.3.4:5'] }),
      /invalid host udp:\/\/1\.2\.3\.4:5: want unix:\/\/\/path or tcp:\/\/HOST:PORT/,
    );
    assert.throws(() => loadDaemonConfig({ configFile: withFile({}), hosts: ['tcp://[::1]:70000'], tls: true }), /the port must be 1-65535/);
  });
});

describe('host addresses', () => {
  it('parses unix and tcp hosts with Docker default ports', () => {
    assert.deepEqual(parseHost('unix:///run/a.sock', false), { kind: 'unix', path: '/run/a.sock' });
    assert.deepEqual(parseHost('tcp://127.0.0.1:2380', true), { kind: 'tcp', host: '127.0.0.1', port: 2380 });
    assert.deepEqual(parseHost('tcp://[::1]', true), { kind: 'tcp', host: '::1', port: 2376 });
    assert.deepEqual(parseHost('tcp://:2375', false), { kind: 'tcp', host: '0.0.0.0', port: 2375 });
    assert.match(parseHost('unix://relative.sock', false) as string, /want unix:\/\/\/absolute\/path/);
    assert.match(parseHost('tcp://a:b:c', false) as string, /want tcp:\/\/HOST:PORT/);
  });
});

describe('isulad --help', () => {
  it('wraps descriptions at word boundaries within the width', () => {
    for (const columns of [80, 100, 120]) {
      const lines = daemonHelp(columns).trimEnd().split('\n');
      const options = lines.slice(lines.indexOf('Options:') + 1);
      assert.ok(
        options.every((l) => l.length <= columns),
        `a line is wider than ${columns}`,
      );
      // Every path and URL of the descriptions comes out whole.
      const text = options.join(' ');
      for (const word of ['unix:///var/run/isulad.sock', '/var/lib/isulad', '/etc/isulad/daemon.json', '/root/.iSulad/ca.pem'])
        assert.ok(text.includes(word), word);
    }
    assert.deepEqual(wrapWords('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
  });
});
