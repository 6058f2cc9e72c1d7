import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDaemonConfig } from '../../src/daemon/config/config.js';
import { validateDaemonJson } from '../../src/daemon/config/validate.js';
import { EngineError } from '../../src/api/errors.js';

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
      assert.throws(() => validateDaemonJson(doc), (e: unknown) => e instanceof EngineError && message.test(e.message));
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

  it('a missing explicit file is an error, invalid JSON too', () => {
    assert.throws(() => loadDaemonConfig({ configFile: path.join(dir, 'nope.json') }), /no such file/);
    assert.throws(() => loadDaemonConfig({ configFile: withFile('{bad') }), /not valid JSON/);
  });

  it('accepts lcr and lxc spellings of the default runtime in any case', () => {
    assert.equal(loadDaemonConfig({ configFile: withFile({ 'default-runtime': 'LCR' }) }).defaultRuntime, 'lcr');
  });
});
