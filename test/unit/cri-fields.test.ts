import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriLogWriter, parseCriLine } from '../../src/container/logs/cri-file.js';
import { podLimits } from '../../src/pod/cgroup.js';
import type { PodConfig } from '../../src/pod/record.js';
import { cgroupSettings, renderLxcConfig } from '../../src/runtime/lxc/config.js';
import { lxcSeccompOf } from '../../src/runtime/lxc/seccomp.js';
import { create } from '@bufbuild/protobuf';
import { NamespaceOptionSchema, SecurityProfileSchema } from '../../src/api/cri/gen/api_pb.js';
import { apparmorOf, checkUserns, podSysctls, seccompOf } from '../../src/services/cri/security.js';
import { lxcPaths, runtimeSpec } from '../helpers/runtime-spec.js';

describe('OCI seccomp profiles in LXC’s format', () => {
  it('an allow-by-default profile is a denylist with each rule’s action', () => {
    const text = lxcSeccompOf(
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }),
      [],
    );
    assert.equal(text, '2\ndenylist\n[all]\nmkdir errno 13\nmkdirat errno 13\n');
  });

  it('a deny-by-default profile is an allowlist with its default action; argument conditions and capability rules as Docker means them', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', excludes: { caps: ['CAP_KILL'] } },
      ],
    };
    assert.equal(
      lxcSeccompOf(JSON.stringify(profile), []),
      '2\nallowlist errno 1\n[all]\nread allow\nwrite allow\npersonality allow [0,8,SCMP_CMP_EQ,0]\nkill kill\n',
    );
    const admin = lxcSeccompOf(JSON.stringify(profile), ['SYS_ADMIN', 'KILL']);
    assert.match(admin, /^mount allow$/m);
    assert.doesNotMatch(admin, /^kill /m);
  });

  it('refuses what LXC cannot express, naming it', () => {
    assert.throws(() => lxcSeccompOf('{', []), /not JSON/);
    assert.throws(() => lxcSeccompOf('{}', []), /no defaultAction/);
    assert.throws(() => lxcSeccompOf(JSON.stringify({ defaultAction: 'SCMP_ACT_NOTIFY' }), []), /SCMP_ACT_NOTIFY is not supported/);
    assert.throws(
      () => lxcSeccompOf(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x\nkexec_load'], action: 'SCMP_ACT_ALLOW' }] }), []),
      /invalid syscall name/,
    );
    assert.throws(
      () =>
        lxcSeccompOf(
          JSON.stringify({
            defaultAction: 'SCMP_ACT_ALLOW',
            syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 0, op: 'SCMP_CMP_EQ' }] }],
          }),
          [],
        ),
      /invalid argument condition/,
    );
  });
});

describe('CRI resources and security in the LXC config', () => {
  it('hugepage limits and unified keys become cgroup settings', () => {
    const s = (v2: boolean) =>
      cgroupSettings({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }], unified: { 'memory.high': '1000000' } }, v2).map(
        (x) => `${x.controller}.${x.key}=${x.value}`,
      );
    assert.deepEqual(s(true), ['hugetlb.2MB.max=4194304', 'memory.high=1000000']);
    assert.deepEqual(s(false).slice(0, 1), ['hugetlb.2MB.limit_in_bytes=4194304']);
  });

  it('AppArmor, no_new_privs and mapped devices’ cgroup rules', () => {
    const text = renderLxcConfig(runtimeSpec({ apparmorProfile: 'k8s-x', noNewPrivileges: true }), { ...lxcPaths, deviceRules: ['c 10:237 rw'] }, false, []);
    assert.match(text, /^lxc\.apparmor\.profile = k8s-x$/m);
    assert.match(text, /^lxc\.no_new_privs = 1$/m);
    assert.match(text, /^lxc\.cgroup\.devices\.allow = c 10:237 rw$/m);
    assert.match(renderLxcConfig(runtimeSpec(), lxcPaths, false, []), /^lxc\.apparmor\.profile = unconfined$/m);
    assert.throws(() => renderLxcConfig(runtimeSpec({ apparmorProfile: 'a\nlxc.cap.keep = all' }), lxcPaths, false, []), /newline/);
  });

  it('the pod cgroup’s limits are resources plus overhead', () => {
    const config = {
      resources: { memory: 64, cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512 },
      overhead: { memory: 16, cpuQuota: 5_000, cpuPeriod: 50_000 },
    } as PodConfig;
    assert.deepEqual(podLimits(config), { memory: 80, cpuShares: 512, cpuQuota: 60_000, cpuPeriod: 100_000 });
    assert.equal(podLimits({} as PodConfig), undefined);
  });
});

describe('CRI log lines back as entries (isula logs)', () => {
  it('parses what CriLogWriter writes: full lines, partial ones, empty ones', () => {
    class Capture extends CriLogWriter {
      line(entry: Parameters<CriLogWriter['write']>[0]): string {
        return this.format(entry).slice(0, -1);
      }
    }
    const w = new Capture('/nonexistent', 1, 1);
    for (const entry of [
      { time: '2026-12-07T04:00:00.123456789Z', stream: 'stdout' as const, log: 'hello world\n' },
      { time: '2026-12-07T04:00:01Z', stream: 'stderr' as const, log: 'part' },
      { time: '2026-12-07T04:00:02Z', stream: 'stdout' as const, log: '\n' },
    ]) {
      assert.deepEqual(parseCriLine(w.line(entry)), entry);
    }
    assert.throws(() => parseCriLine('{"log":"x"}'), /not a CRI log line/);
  });
});

describe('CRI security fields', () => {
  it('pod sysctls: namespaced ones only, none of a namespace shared with the host', () => {
    assert.deepEqual(podSysctls({ 'kernel/shmmax': '1', 'net.ipv4.ip_forward': '1', 'fs.mqueue.msg_max': '20' }, false, false), {
      'kernel.shmmax': '1',
      'net.ipv4.ip_forward': '1',
      'fs.mqueue.msg_max': '20',
    });
    assert.throws(() => podSysctls({ 'vm.swappiness': '1' }, false, false), /not namespaced/);
    assert.throws(() => podSysctls({ 'kernel.sem': '1 2 3 4' }, false, true), /host's IPC/);
    assert.throws(() => podSysctls({ 'net.core.somaxconn': '1' }, true, false), /host's network/);
  });

  it('user namespaces: NODE or none; POD refused by the field’s name', () => {
    checkUserns('x', undefined);
    checkUserns('x', create(NamespaceOptionSchema, { usernsOptions: { mode: 2 } }));
    assert.throws(() => checkUserns('pod', create(NamespaceOptionSchema, { usernsOptions: { mode: 0 } })), /pod\.userns_options: mode POD/);
    assert.throws(() => checkUserns('pod', create(NamespaceOptionSchema, { usernsOptions: { mode: 3 } })), /not valid for a user namespace/);
  });

  it('profiles: RuntimeDefault is the engine default, Unconfined none, deprecated strings alike; bad ones refused', () => {
    const p = (profileType: number, localhostRef = '') => create(SecurityProfileSchema, { profileType, localhostRef });
    assert.equal(seccompOf('s', p(0), ''), undefined);
    assert.equal(seccompOf('s', p(1), ''), 'unconfined');
    assert.equal(seccompOf('s', undefined, 'unconfined'), 'unconfined');
    assert.equal(seccompOf('s', undefined, 'runtime/default'), undefined);
    assert.throws(() => seccompOf('s', undefined, 'weird'), /unknown profile "weird"/);
    assert.throws(() => seccompOf('s', p(2), ''), /needs localhost_ref/);
    assert.throws(() => seccompOf('s', p(2, '/nonexistent/profile.json'), ''), /no such file/);
    assert.equal(apparmorOf('a', p(1), ''), 'unconfined');
    assert.equal(apparmorOf('a', undefined, ''), undefined);
  });
});
