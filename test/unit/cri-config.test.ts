import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_POD_SANDBOX_IMAGE, loadDaemonConfig } from '../../src/daemon/config/config.js';
import { parseDaemonArgs } from '../../src/daemon/flags.js';
import { checkPodCidr } from '../../src/services/cri/runtime.js';

// The CRI keys of daemon.json and their flags (src/daemon/config/config.ts, criSettings).

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-cri-conf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
function withFile(doc: unknown): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}
const load = (doc: unknown, flags: Parameters<typeof loadDaemonConfig>[0] = {}) => loadDaemonConfig({ ...flags, configFile: withFile(doc) });

describe('CRI settings', () => {
  it("has iSulad's defaults: CRI v1 off, pause-<arch>:3.0, no network plugin, the usual CNI folders, port 10350", () => {
    const c = load({});
    assert.equal(c.enableCriV1, false);
    assert.equal(c.podSandboxImage, DEFAULT_POD_SANDBOX_IMAGE);
    if (process.arch === 'x64') assert.equal(c.podSandboxImage, 'pause-amd64:3.0');
    if (process.arch === 'arm64') assert.equal(c.podSandboxImage, 'pause-aarch64:3.0');
    assert.equal(c.networkPlugin, '');
    assert.equal(c.cniBinDir, '/opt/cni/bin');
    assert.equal(c.cniConfDir, '/etc/cni/net.d');
    assert.deepEqual(c.criRuntimes, {});
    assert.equal(c.websocketPort, 10350);
  });

  it("takes iSulad's shipped daemon.json (empty strings mean the defaults) without a warning for enable-cri-v1", () => {
    const c = load({
      'enable-cri-v1': true,
      'pod-sandbox-image': '',
      'network-plugin': '',
      'cni-bin-dir': '',
      'cni-conf-dir': '',
      'cri-runtimes': { kata: 'io.containerd.kata.v2' },
    });
    assert.equal(c.enableCriV1, true);
    assert.equal(c.podSandboxImage, DEFAULT_POD_SANDBOX_IMAGE);
    assert.equal(c.cniConfDir, '/etc/cni/net.d');
    assert.deepEqual(c.criRuntimes, { kata: 'io.containerd.kata.v2' });
    // With the CRI services on, its keys act: none is reported ignored.
    assert.deepEqual(c.warnings, []);
  });

  it('reads every key from daemon.json, and flags win over it', () => {
    const doc = {
      'enable-cri-v1': false,
      'pod-sandbox-image': 'registry.local/pause:3.9',
      'network-plugin': 'cni',
      'cni-bin-dir': '/usr/lib/cni',
      'cni-conf-dir': '/etc/cni/conf',
      'websocket-server-listening-port': 10351,
    };
    const fromFile = load(doc);
    assert.equal(fromFile.podSandboxImage, 'registry.local/pause:3.9');
    assert.equal(fromFile.networkPlugin, 'cni');
    assert.equal(fromFile.cniBinDir, '/usr/lib/cni');
    assert.equal(fromFile.cniConfDir, '/etc/cni/conf');
    assert.equal(fromFile.websocketPort, 10351);
    const invocation = parseDaemonArgs([
      '--enable-cri-v1',
      '--pod-sandbox-image',
      'pause:flag',
      '--network-plugin=',
      '--cni-bin-dir',
      '/b',
      '--cni-conf-dir',
      '/c',
      '--websocket-server-listening-port',
      '2000',
    ]);
    assert.equal(invocation.kind, 'run');
    const c = load(doc, invocation.kind === 'run' ? invocation.flags : {});
    assert.equal(c.enableCriV1, true);
    assert.equal(c.podSandboxImage, 'pause:flag');
    assert.equal(c.networkPlugin, '');
    assert.equal(c.cniBinDir, '/b');
    assert.equal(c.cniConfDir, '/c');
    assert.equal(c.websocketPort, 2000);
  });

  const refused: [string, unknown, RegExp][] = [
    ['an unknown network plugin', { 'network-plugin': 'flannel' }, /invalid network-plugin "flannel": want cni/],
    ['a relative CNI folder', { 'cni-conf-dir': 'net.d' }, /invalid cni-conf-dir "net.d": want an absolute path/],
    ['port 0', { 'websocket-server-listening-port': 0 }, /invalid websocket-server-listening-port "0"/],
    ['port 70000', { 'websocket-server-listening-port': 70000 }, /want a port from 1 to 65535/],
    ['a port that is not a number', { 'websocket-server-listening-port': '10350' }, /must be an integer/],
    ['an empty runtime in cri-runtimes', { 'cri-runtimes': { kata: '' } }, /invalid cri-runtimes entry "kata"/],
    ['enable-cri-v1 as a string', { 'enable-cri-v1': 'true' }, /"enable-cri-v1" must be true or false/],
    ['an image with a space', { 'pod-sandbox-image': 'pause 3.0' }, /invalid pod-sandbox-image/],
  ];
  for (const [what, doc, message] of refused) {
    it(`refuses ${what}, naming the key`, () => assert.throws(() => load(doc), message));
  }
});

describe('pod CIDR of UpdateRuntimeConfig', () => {
  it('takes IPv4, IPv6 and dual-stack prefixes', () => {
    for (const cidr of ['10.88.0.0/16', 'fd00::/64', '10.88.0.0/16,fd00::/64']) checkPodCidr(cidr);
  });
  it('refuses what is not one', () => {
    for (const cidr of ['10.88.0.0', '10.88.0.0/33', 'fd00::/129', 'pods/16', '10.88.0.0/16/1', '10.88.0.0/x']) {
      assert.throws(() => checkPodCidr(cidr), /invalid pod CIDR/, cidr);
    }
  });
});
