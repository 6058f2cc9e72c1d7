import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeCgroups, hostCgroups, parseCgroupMounts } from '../../src/sys/cgroup/mounts.js';
import { cgroupPresent, removeCgroup } from '../../src/sys/cgroup/tree.js';
import { RotatingFileSink } from '../../src/sys/log.js';
import { detectKernelFeatures, effectiveStorageDriver, kernelDegradations, type KernelFeatureSet } from '../../src/sys/kernel.js';
import { parseProcStat } from '../../src/sys/procfs.js';
import { atomicWriteFileSync } from '../../src/sys/atomic-write.js';
import { frameMessage, MessageReader } from '../../src/api/grpc-framing.js';

describe('parseProcStat', () => {
  it('reads state, ppid and start time, with spaces and parentheses in comm', () => {
    const text = '4242 (my (odd) cmd) D 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615\n';
    const s = parseProcStat(text);
    assert.deepEqual(s, { pid: 4242, comm: 'my (odd) cmd', state: 'D', ppid: 17, startTime: 987654 });
  });
  it('returns undefined for garbage', () => assert.equal(parseProcStat('nonsense'), undefined));
});

describe('cgroup mounts', () => {
  const mountinfo = [
    '30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
    '34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n');
  it('finds v1 hierarchies and the v2 mount: a hybrid host', () => {
    const mounts = parseCgroupMounts(mountinfo, () => ['hugetlb']);
    assert.equal(mounts.length, 4);
    const layout = describeCgroups(mounts);
    assert.equal(layout.version, 'hybrid');
    assert.deepEqual(layout.controllers, ['cpu', 'cpuacct', 'memory']);
  });
  it('a pure v2 host uses the v2 controllers', () => {
    const layout = describeCgroups(parseCgroupMounts('1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', () => ['cpu', 'memory', 'pids']));
    assert.equal(layout.version, 'v2');
    assert.deepEqual(layout.controllers, ['cpu', 'memory', 'pids']);
  });
});

describe('cgroup leftovers', () => {
  const hierarchies = hostCgroups().mounts;
  const skip = (process.getuid?.() !== 0 && 'needs root') || (hierarchies.length < 2 && 'needs more than one cgroup hierarchy') || false;

  it('a cgroup left in one hierarchy only (the last one) is seen and removed', { skip }, () => {
    const rel = `isulad-unit-${process.pid}`;
    const only = path.join(hierarchies[hierarchies.length - 1]!.path, rel);
    fs.mkdirSync(only);
    try {
      assert.equal(cgroupPresent(rel), true);
      assert.deepEqual(removeCgroup(rel), []);
      assert.equal(fs.existsSync(only), false);
      assert.equal(cgroupPresent(rel), false);
    } finally {
      if (fs.existsSync(only)) fs.rmdirSync(only);
    }
  });
});

describe('RotatingFileSink', () => {
  it('rotates past max size and keeps max files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-log-'));
    const file = path.join(dir, 'isulad.log');
    const sink = new RotatingFileSink(file, 100, 3);
    for (let i = 0; i < 20; i++) sink.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(30)}\n`);
    const files = fs.readdirSync(dir).sort();
    assert.deepEqual(files, ['isulad.log', 'isulad.log.1', 'isulad.log.2']);
    for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 100);
    assert.match(fs.readFileSync(file, 'utf8'), /line 19/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('atomicWriteFileSync', () => {
  it('replaces the content and leaves no temp file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-aw-'));
    const file = path.join(dir, 'config.v2.json');
    atomicWriteFileSync(file, 'one');
    atomicWriteFileSync(file, 'two');
    assert.equal(fs.readFileSync(file, 'utf8'), 'two');
    assert.deepEqual(fs.readdirSync(dir), ['config.v2.json']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('gRPC framing', () => {
  it('reassembles messages split across chunks', () => {
    const a = frameMessage(Buffer.from('hello'));
    const b = frameMessage(Buffer.from('world!'));
    const all = Buffer.concat([a, b]);
    const reader = new MessageReader(Infinity, 'identity');
    const got = [...reader.push(all.subarray(0, 3)), ...reader.push(all.subarray(3, 12)), ...reader.push(all.subarray(12))];
    assert.deepEqual(got.map(String), ['hello', 'world!']);
  });
});

describe('kernel features', () => {
  const v2 = describeCgroups([{ path: '/sys/fs/cgroup', version: 2, controllers: ['cpu', 'memory', 'pids'] }]);
  const all: KernelFeatureSet = {
    overlay: true,
    squashfs: true,
    loop: true,
    userNamespaces: true,
    freezer: true,
    pids: true,
    memory: true,
    memsw: true,
    cpu: true,
    cpuset: true,
    files: false,
  };

  it('on cgroup v2 the freezer and swap accounting come with the unified hierarchy and memory', () => {
    const k = detectKernelFeatures(v2);
    assert.equal(k.freezer, true);
    assert.equal(k.memsw, true);
    assert.equal(k.cpuset, false);
    assert.equal(k.pids, true);
  });

  it('a v1 host without a freezer hierarchy has no freezer', () => {
    const v1 = describeCgroups([{ path: '/nonexistent/memory', version: 1, controllers: ['memory'] }]);
    const k = detectKernelFeatures(v1);
    assert.equal(k.freezer, false);
    assert.equal(k.memsw, false, 'no memory.memsw.limit_in_bytes under the mount');
  });

  it('overlay2 falls back to vfs only when overlay is missing; other drivers stay', () => {
    assert.equal(effectiveStorageDriver('overlay2', all), 'overlay2');
    assert.equal(effectiveStorageDriver('overlay2', { ...all, overlay: false }), 'vfs');
    assert.equal(effectiveStorageDriver('devicemapper', { ...all, overlay: false }), 'devicemapper');
  });

  it('names each missing feature and what is refused; the optional files cgroup is not a degradation', () => {
    assert.deepEqual(kernelDegradations(all), []);
    const lines = kernelDegradations({ ...all, pids: false, overlay: false, freezer: false });
    assert.equal(lines.length, 3);
    assert.match(lines.join('\n'), /--pids-limit is refused/);
    assert.match(lines.join('\n'), /falls back to vfs/);
    assert.match(lines.join('\n'), /pause is refused/);
  });
});
