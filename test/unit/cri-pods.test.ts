import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CriLogWriter } from '../../src/container/logs/cri-file.js';
import { criContainerName } from '../../src/pod/containers.js';
import { resolvConfOf } from '../../src/pod/etc.js';
import type { PodConfig } from '../../src/pod/record.js';
import { renderLxcConfig } from '../../src/runtime/lxc/config.js';
import type { RuntimeSpec } from '../../src/runtime/runtime.js';
import { lxcPaths, runtimeSpec } from '../helpers/runtime-spec.js';

const paths = lxcPaths;
const spec = runtimeSpec;

const lines = (s: RuntimeSpec, re: RegExp): string[] =>
  renderLxcConfig(s, paths, true, [])
    .split('\n')
    .filter((l) => re.test(l));

describe('pod namespaces in the LXC config', () => {
  it('joins namespace files instead of making them; a joined network gets no lxc.net lines', () => {
    const s = spec({ namespaces: { net: '/run/netns/cni-1', ipc: '/proc/42/ns/ipc', uts: '/proc/42/ns/uts' } });
    assert.deepEqual(lines(s, /^lxc\.(namespace|net)\./), [
      'lxc.namespace.share.net = /run/netns/cni-1',
      'lxc.namespace.share.ipc = /proc/42/ns/ipc',
      'lxc.namespace.share.uts = /proc/42/ns/uts',
    ]);
  });

  it('keeps the empty network with lo up when only other namespaces are joined', () => {
    assert.deepEqual(lines(spec({ namespaces: { ipc: '/proc/1/ns/ipc' } }), /^lxc\.(namespace|net)\./), [
      'lxc.net.0.type = empty',
      'lxc.net.0.flags = up',
      'lxc.namespace.share.ipc = /proc/1/ns/ipc',
    ]);
  });

  it('writes sysctls, and refuses a newline that would start another key', () => {
    assert.deepEqual(lines(spec({ sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' } }), /^lxc\.sysctl/), [
      'lxc.sysctl.net.ipv4.ip_unprivileged_port_start = 0',
    ]);
    assert.throws(() => renderLxcConfig(spec({ sysctls: { 'kernel.shmmax': '1\nlxc.cap.keep = all' } }), paths, true, []), /newline/);
  });
});

describe('pod files and names', () => {
  it('writes resolv.conf from DNSConfig as containerd does', () => {
    assert.equal(
      resolvConfOf({ servers: ['10.96.0.10', '8.8.8.8'], searches: ['ns.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] }),
      'search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 8.8.8.8\noptions ndots:5\n',
    );
    assert.throws(() => resolvConfOf({ servers: ['1.1.1.1\nnameserver 6.6.6.6'], searches: [], options: [] }), /newline/);
  });

  it('names containers as kubelet does and refuses parts that would break the name', () => {
    const pod = { name: 'web', namespace: 'default', uid: 'u-1', attempt: 2 } as PodConfig;
    assert.equal(criContainerName('POD', pod), 'k8s_POD_web_default_u-1_2');
    assert.throws(() => criContainerName('a/b', pod), /invalid container name/);
  });
});

describe('CRI log format', () => {
  it('writes TIME STREAM F|P text lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cri-log-'));
    try {
      const file = path.join(dir, 'c.log');
      const w = new CriLogWriter(file, 1024 * 1024, 1);
      w.write({ log: 'hello\n', stream: 'stdout', time: '2026-01-01T00:00:00.000Z' });
      w.write({ log: 'part', stream: 'stderr', time: '2026-01-01T00:00:01.000Z' });
      w.close();
      assert.equal(fs.readFileSync(file, 'utf8'), '2026-01-01T00:00:00.000Z stdout F hello\n2026-01-01T00:00:01.000Z stderr P part\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
