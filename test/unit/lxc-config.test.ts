import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceSpec } from '../../src/api/containers.js';
import { cgroupSettings, renderLxcConfig } from '../../src/runtime/lxc/config.js';
import { lxcPaths, runtimeSpec } from '../helpers/runtime-spec.js';

const paths = lxcPaths;
const spec = (resources: ResourceSpec) => runtimeSpec({ resources });

/** The cgroup files `update` writes: `<controller>.<key> = value`. */
const files = (r: ResourceSpec, v2: boolean): string[] => cgroupSettings(r, v2).map((s) => `${s.controller}.${s.key} = ${s.value}`);
/** The resource lines of the rendered config (devices rules left out). */
const configLines = (r: ResourceSpec, v2: boolean): string[] =>
  renderLxcConfig(spec(r), paths, v2, [])
    .split('\n')
    .filter((l) => /^lxc\.cgroup2?\.(?!dir\.|devices\.)/.test(l));

const all: ResourceSpec = {
  memory: 100_000_000,
  memorySwap: 200_000_000,
  cpuShares: 512,
  cpuPeriod: 50_000,
  cpuQuota: 25_000,
  cpusetCpus: '0-1',
  cpusetMems: '0',
  pidsLimit: 10,
  filesLimit: 100,
};

describe('LXC resource settings', () => {
  it('cgroup v1: one setting per cgroup file, the config says the same', () => {
    assert.deepEqual(files(all, false), [
      'memory.limit_in_bytes = 100000000',
      'memory.memsw.limit_in_bytes = 200000000',
      'cpu.shares = 512',
      'cpu.cfs_period_us = 50000',
      'cpu.cfs_quota_us = 25000',
      'cpuset.cpus = 0-1',
      'cpuset.mems = 0',
      'pids.max = 10',
      'files.limit = 100',
    ]);
    assert.deepEqual(
      configLines(all, false),
      files(all, false).map((f) => `lxc.cgroup.${f}`),
    );
  });
  it('cgroup v2: v2 files and values; the files controller keeps its v1 key', () => {
    assert.deepEqual(files(all, true), [
      'memory.max = 100000000',
      'memory.swap.max = 100000000',
      'cpu.weight = 20',
      'cpu.max = 25000 50000',
      'cpuset.cpus = 0-1',
      'cpuset.mems = 0',
      'pids.max = 10',
      'files.limit = 100',
    ]);
    assert.deepEqual(configLines(all, true), [
      ...files(all, true)
        .slice(0, -1)
        .map((f) => `lxc.cgroup2.${f}`),
      'lxc.cgroup.files.limit = 100',
    ]);
  });
  it('nano CPUs become a quota over a 100 ms period; unlimited swap is max on v2', () => {
    assert.deepEqual(files({ nanoCpus: 1_500_000_000, memorySwap: -1 }, false), [
      'memory.memsw.limit_in_bytes = -1',
      'cpu.cfs_period_us = 100000',
      'cpu.cfs_quota_us = 150000',
    ]);
    assert.deepEqual(files({ nanoCpus: 1_500_000_000, memorySwap: -1 }, true), ['memory.swap.max = max', 'cpu.max = 150000 100000']);
  });
  it('nothing set, nothing written; a newline in a cpuset is refused', () => {
    assert.deepEqual(files({ pidsLimit: -1, filesLimit: 0, memorySwap: 0 }, false), []);
    assert.throws(() => cgroupSettings({ cpusetCpus: '0\nlxc.x = y' }, false), /cpuset-cpus must not contain a newline/);
  });
});
