/**
 * Kubernetes 1.25's CRI fields against the real daemon on LXC (issue 17, cri-fields): pid
 * namespace modes seen from inside, seccomp and AppArmor profiles, no_new_privs, devices,
 * sysctls, the pod cgroup's limits from resources and overhead, resources in create, update
 * and status, and what the LXC runtime cannot do refused by the field's name.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ContainerEventType,
  ContainerState,
  type ContainerEventResponse,
  ImageService,
  NamespaceMode,
  PodSandboxState,
  RuntimeService,
} from '../../src/api/cri/gen/api_pb.js';
import { criPath } from '../../src/api/cri/services.js';
import { show } from '../helpers/cli.js';
import { bridgeNetwork, CNI_PLUGINS, deleteBridge, removeAllPods, missingCniPlugins, criCall, criClient, criFailure, startCriEngine } from '../helpers/cri.js';
import type { RunResult } from '../helpers/engine.js';
import type { TestEngine } from '../helpers/engine.js';
import { busyboxImage, pushImage } from '../helpers/oci-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const rt = RuntimeService.method;
const PAUSE = 'localhost/pause:3.9';
const Profile = { RuntimeDefault: 0, Unconfined: 1, Localhost: 2 } as const;

const ok = (r: RunResult, what: string): string => {
  assert.equal(r.code, 0, `${what}: ${show(r)}`);
  return r.stdout;
};

describe('CRI 1.25 fields', { timeout: 10 * 60_000 }, () => {
  let reg: TestRegistry;
  let engine: TestEngine;
  let client: grpc.Client;
  let work: string;
  let bb: string;
  const cgroupParent = `isulad-test-pod-${crypto.randomBytes(4).toString('hex')}`;

  const podConfig = (name: string, linux: Record<string, unknown> = {}) => ({
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 1 },
    logDirectory: path.join(work, 'logs', name),
    linux,
  });
  const ctrConfig = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name, attempt: 0 },
    image: { image: bb },
    command: ['/bin/sh', '-c'],
    args: [script],
    ...extra,
  });

  async function runPod(name: string, linux: Record<string, unknown> = {}): Promise<string> {
    return (await criCall(client, rt.runPodSandbox, { config: podConfig(name, linux) })).podSandboxId;
  }
  async function runContainer(podId: string, name: string, script: string, extra: Record<string, unknown> = {}): Promise<string> {
    const { containerId } = await criCall(client, rt.createContainer, { podSandboxId: podId, config: ctrConfig(name, script, extra) });
    await criCall(client, rt.startContainer, { containerId });
    return containerId;
  }
  async function exec(containerId: string, script: string): Promise<{ code: number; out: string; err: string }> {
    const r = await criCall(client, rt.execSync, { containerId, cmd: ['/bin/sh', '-c', script], timeout: 20n });
    return { code: r.exitCode, out: Buffer.from(r.stdout).toString(), err: Buffer.from(r.stderr).toString() };
  }
  /** A pod's LinuxPodSandboxConfig with this security context. */
  const linuxSc = (securityContext: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ securityContext, ...more });
  const invalid = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
    const e = await criFailure(p);
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT, e.details);
    assert.match(e.details, re);
  };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-fields-'));
    reg = await startRegistry();
    pushImage(busyboxImage(), reg, 'busybox:latest');
    bb = `${reg.host}/busybox:latest`;
    engine = await startCriEngine(work, PAUSE, ['--log-driver', 'stdout'], {
      'insecure-registries': [reg.host],
    });
    client = criClient(engine.sock);
    await criCall(client, ImageService.method.pullImage, { image: { image: bb } });
  });

  after(async () => {
    if (client) {
      await removeAllPods(client);
    }
    client?.close();
    await engine?.cleanup().catch((e: Error) => console.log(`# engine cleanup: ${e.message}`));
    await reg?.stop();
    // The pod cgroups the tests named (empty once their containers went): children first.
    const rmdirTree = (dir: string): void => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
      try {
        fs.rmdirSync(dir);
      } catch {
        // still in use: left for the next run to see
      }
    };
    for (const hierarchy of fs.readdirSync('/sys/fs/cgroup')) {
      for (const parent of [cgroupParent, `${cgroupParent}-gc`]) rmdirTree(path.join('/sys/fs/cgroup', hierarchy, parent));
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('pid namespaces: POD shares the pause one, TARGET another container’s, CONTAINER its own, NODE the host’s', async () => {
    const shared = await runPod('pidpod', linuxSc({ namespaceOptions: { pid: NamespaceMode.POD } }));
    await runContainer(shared, 'a', 'exec sleep 1001');
    const b = await runContainer(shared, 'b', 'exec sleep 1002', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } } });
    const seen = await exec(b, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    assert.match(seen.out, /sleep 1001/, 'b sees a’s process');
    assert.match(seen.out, /\/pause/, 'and the pause, pid 1 of the pod');
    assert.equal((await exec(b, 'cat /proc/1/comm')).out.trim(), 'pause');
    // The engine finds the init of a container that joined a pid namespace (stats, stop and joins use it).
    const bPid = (JSON.parse((await criCall(client, rt.containerStatus, { containerId: b, verbose: true })).info.info!) as { pid: number }).pid;
    assert.equal(fs.readFileSync(`/proc/${bPid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(), 'sleep 1002');

    const own = await runPod('pidown', linuxSc({ namespaceOptions: { pid: NamespaceMode.CONTAINER } }));
    const target = await runContainer(own, 'target', 'exec sleep 1003', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } });
    const joiner = await runContainer(own, 'joiner', 'exec sleep 1004', {
      linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.TARGET, targetId: target } } },
    });
    const loner = await runContainer(own, 'loner', 'exec sleep 1005', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } });
    assert.match((await exec(joiner, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "')).out, /sleep 1003/, 'TARGET sees the target’s process');
    const alone = (await exec(loner, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "')).out;
    assert.doesNotMatch(alone, /sleep 1003|sleep 1004|pause/, 'CONTAINER sees only its own');
    assert.equal((await exec(loner, 'cat /proc/1/comm')).out.trim(), 'sleep');
    // A target outside the pod is refused.
    await invalid(
      criCall(client, rt.createContainer, {
        podSandboxId: own,
        config: ctrConfig('stray', 'true', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.TARGET, targetId: b } } } }),
      }),
      /not in pod/,
    );

    const host = await runPod('pidhost', linuxSc({ namespaceOptions: { pid: NamespaceMode.NODE } }));
    const h = await runContainer(host, 'h', 'exec sleep 1006', { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.NODE } } } });
    assert.match((await exec(h, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "')).out, /sleep 1001/, 'NODE sees the host’s processes');
    for (const pod of [shared, own, host]) await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('seccomp: RuntimeDefault and Localhost profiles filter, Unconfined does not; AppArmor degrades or is refused; no_new_privs', async () => {
    const profile = path.join(work, 'no-mkdir.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
          // Docker's per-capability rules: CAP_SYS_ADMIN is not the container's, so this rule is left out.
          { names: ['chdir'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
        ],
      }),
    );
    const pod = await runPod('sec', linuxSc({ seccomp: { profileType: Profile.RuntimeDefault } }));
    const local = await runContainer(pod, 'local', 'exec sleep 1000', {
      linux: { securityContext: { seccomp: { profileType: Profile.Localhost, localhostRef: profile }, noNewPrivs: true } },
    });
    const r = await exec(local, 'mkdir /tmp/x; cd /tmp && echo chdir ok; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status');
    assert.match(r.err, /Permission denied/, 'mkdir gets the profile’s errno (EACCES)');
    assert.match(r.out, /chdir ok/);
    assert.match(r.out, /Seccomp:\s+2/);
    assert.match(r.out, /NoNewPrivs:\s+1/);

    const unconfined = await runContainer(pod, 'free', 'exec sleep 1000', { linux: { securityContext: { seccomp: { profileType: Profile.Unconfined } } } });
    const u = await exec(unconfined, 'mkdir /tmp/x && echo made; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status');
    assert.match(u.out, /made/);
    assert.match(u.out, /Seccomp:\s+0/, 'no filter at all');
    assert.match(u.out, /NoNewPrivs:\s+0/);
    // The deprecated string, and RuntimeDefault: the engine's default profile.
    const deflt = await runContainer(pod, 'deflt', 'exec sleep 1000', { linux: { securityContext: { seccompProfilePath: 'runtime/default' } } });
    assert.match((await exec(deflt, 'grep Seccomp: /proc/self/status')).out, /Seccomp:\s+2/);
    const depLocal = await runContainer(pod, 'deplocal', 'exec sleep 1000', { linux: { securityContext: { seccompProfilePath: `localhost/${profile}` } } });
    assert.match((await exec(depLocal, 'mkdir /tmp/y')).err, /Permission denied/);

    await invalid(
      criCall(client, rt.createContainer, {
        podSandboxId: pod,
        config: ctrConfig('missing', 'true', {
          linux: { securityContext: { seccomp: { profileType: Profile.Localhost, localhostRef: path.join(work, 'nope.json') } } },
        }),
      }),
      /container seccomp: localhost profile .*nope\.json: no such file/,
    );
    fs.writeFileSync(path.join(work, 'notify.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_NOTIFY' }));
    await invalid(
      criCall(client, rt.createContainer, {
        podSandboxId: pod,
        config: ctrConfig('notify', 'true', {
          linux: { securityContext: { seccomp: { profileType: Profile.Localhost, localhostRef: path.join(work, 'notify.json') } } },
        }),
      }),
      /SCMP_ACT_NOTIFY is not supported/,
    );
    const apparmorOn =
      fs.existsSync('/sys/module/apparmor/parameters/enabled') && fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
    if (!apparmorOn) {
      // RuntimeDefault degrades to none on a host without AppArmor (as containerd); Localhost cannot be honoured.
      await runContainer(pod, 'aa', 'exec sleep 1000', { linux: { securityContext: { apparmor: { profileType: Profile.RuntimeDefault } } } });
      await invalid(
        criCall(client, rt.createContainer, {
          podSandboxId: pod,
          config: ctrConfig('aalocal', 'true', { linux: { securityContext: { apparmor: { profileType: Profile.Localhost, localhostRef: 'k8s-custom' } } } }),
        }),
        /container apparmor: AppArmor is not enabled on this host; localhost profile "k8s-custom"/,
      );
    }
    await invalid(runPod('secbad', linuxSc({ seccomp: { profileType: Profile.Localhost, localhostRef: 'relative.json' } })), /pod sandbox seccomp: .*absolute/);
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('refuses what the LXC runtime cannot do by the field’s name: userns POD, ambient capabilities of a non-root user, hugepages and unified on this host', async () => {
    await invalid(
      runPod(
        'userns',
        linuxSc({ namespaceOptions: { usernsOptions: { mode: NamespaceMode.POD, uids: [{ hostId: 100000, containerId: 0, length: 65536 }] } } }),
      ),
      /userns_options: mode POD/,
    );
    assert.deepEqual(
      (await criCall(client, rt.listPodSandbox, {})).items.filter((p) => p.metadata?.name === 'userns'),
      [],
      'nothing left of the refused pod',
    );
    const pod = await runPod('refusals');
    const create = (config: Record<string, unknown>) => criCall(client, rt.createContainer, { podSandboxId: pod, config });
    await invalid(
      create(
        ctrConfig('amb', 'true', {
          linux: { securityContext: { runAsUser: { value: 1000n }, capabilities: { addAmbientCapabilities: ['NET_BIND_SERVICE'] } } },
        }),
      ),
      /add_ambient_capabilities \(NET_BIND_SERVICE\) for the non-root user 1000/,
    );
    await invalid(
      create(ctrConfig('amb2', 'true', { linux: { securityContext: { capabilities: { addAmbientCapabilities: ['SYS_ADMIN'] } } } })),
      /SYS_ADMIN must also be in add_capabilities/,
    );
    // Root with an ambient capability it holds: accepted, and held.
    const amb = await runContainer(pod, 'ambroot', 'exec sleep 1000', {
      linux: { securityContext: { capabilities: { addCapabilities: ['NET_ADMIN'], addAmbientCapabilities: ['NET_ADMIN'] } } },
    });
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec((await exec(amb, 'cat /proc/self/status')).out)![1]}`);
    assert.ok(capEff & (1n << 12n), 'CAP_NET_ADMIN is effective');
    const hasHugetlb = fs.existsSync('/sys/fs/cgroup/hugetlb');
    if (!hasHugetlb) {
      await invalid(
        create(ctrConfig('huge', 'true', { linux: { resources: { hugepageLimits: [{ pageSize: '2MB', limit: 2097152n }] } } })),
        /hugepage limits are refused/,
      );
    }
    if (!fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      await invalid(
        create(ctrConfig('uni', 'true', { linux: { resources: { unified: { 'memory.high': '100000000' } } } })),
        /unified \(cgroup v2\) resources are refused/,
      );
    }
    assert.deepEqual(
      (await criCall(client, rt.listContainers, { filter: { podSandboxId: pod } })).containers.length,
      1,
      'only the accepted container was made',
    );
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('masked and read-only paths (kubelet’s defaults) hide and protect /proc and /sys', async () => {
    const pod = await runPod('masked');
    const masked = [
      '/proc/acpi',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/sys/firmware',
    ];
    const readonly = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
    const c = await runContainer(pod, 'm', 'exec sleep 1000', { linux: { securityContext: { maskedPaths: masked, readonlyPaths: readonly } } });
    const open = await runContainer(pod, 'open', 'exec sleep 1000');
    const probe =
      'wc -c < /proc/timer_list; ls /sys/firmware | wc -l; grep -c " /proc/bus " /proc/self/mountinfo; grep " /proc/bus " /proc/self/mountinfo | grep -c " ro,"';
    const r = await exec(c, probe);
    const [timerList, firmware, busMounts, busRo] = r.out
      .trim()
      .split('\n')
      .map((x) => Number(x.trim()));
    assert.equal(timerList, 0, '/proc/timer_list reads empty');
    assert.equal(firmware, 0, '/sys/firmware is empty');
    assert.ok(busMounts! >= 1 && busRo! >= 1, `/proc/bus is mounted read-only: ${r.out}`);
    const o = (await exec(open, probe)).out
      .trim()
      .split('\n')
      .map((x) => Number(x.trim()));
    assert.ok(o[0]! > 0, 'without the lists /proc/timer_list has content');
    await invalid(
      criCall(client, rt.createContainer, {
        podSandboxId: pod,
        config: ctrConfig('bad', 'true', { linux: { securityContext: { maskedPaths: ['/etc/shadow'] } } }),
      }),
      /only paths under \/proc and \/sys/,
    );
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('supplemental groups: added to the user’s, or alone with the Strict policy', async () => {
    const pod = await runPod('groups');
    const merged = await runContainer(pod, 'merged', 'exec sleep 1000', {
      linux: { securityContext: { runAsUser: { value: 0n }, supplementalGroups: [1234n, 5678n] } },
    });
    const strict = await runContainer(pod, 'strict', 'exec sleep 1000', {
      linux: { securityContext: { runAsUser: { value: 0n }, supplementalGroups: [1234n], supplementalGroupsPolicy: 1 } },
    });
    // The container's init, seen from the host (lxc-attach gives exec'd processes no supplementary groups).
    const groupsOf = async (id: string) => {
      const pid = (JSON.parse((await criCall(client, rt.containerStatus, { containerId: id, verbose: true })).info.info!) as { pid: number }).pid;
      return (/^Groups:[ \t]*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
    };
    const m = await groupsOf(merged);
    assert.ok(m.includes('1234') && m.includes('5678'), `groups ${m.join(' ')}`);
    assert.deepEqual(await groupsOf(strict), ['1234']);
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('sysctls: namespaced ones act, others and the host’s namespaces’ are refused', async () => {
    const pod = await runPod('sysctl', { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '80', 'kernel/shmmni': '2048' } });
    const c = await runContainer(pod, 's', 'exec sleep 1000');
    assert.equal((await exec(c, 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni')).out, '80\n2048\n');
    await invalid(runPod('sysbad', { sysctls: { 'kernel.panic': '1' } }), /sysctl "kernel.panic" is not namespaced/);
    await invalid(
      runPod('syshost', { sysctls: { 'net.ipv4.ip_forward': '1' }, securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } }),
      /uses the host's network namespace/,
    );
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('devices: a host device is mapped with its cgroup permission', async () => {
    const pod = await runPod('dev');
    const withDev = await runContainer(pod, 'withdev', 'exec sleep 1000', {
      devices: [{ hostPath: '/dev/loop-control', containerPath: '/dev/lc', permissions: 'rw' }],
    });
    const withoutDev = await runContainer(pod, 'without', 'mknod /dev/lc c 10 237; exec sleep 1000');
    assert.equal((await exec(withDev, 'exec 3<>/dev/lc && echo opened')).out, 'opened\n');
    const denied = await exec(withoutDev, 'exec 3<>/dev/lc && echo opened');
    assert.notEqual(denied.code, 0, 'without the mapping the device cgroup denies it');
    assert.match(denied.err, /Operation not permitted/);
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('resources: the pod cgroup gets resources + overhead; a container’s limits in create, update and status', async () => {
    const MiB = 1024n * 1024n;
    await invalid(runPod('nocg', { resources: { memoryLimitInBytes: 64n * MiB } }), /need linux.cgroup_parent/);
    const pod = await runPod('res', {
      cgroupParent,
      resources: { memoryLimitInBytes: 64n * MiB, cpuQuota: 50_000n, cpuPeriod: 100_000n },
      overhead: { memoryLimitInBytes: 16n * MiB, cpuQuota: 10_000n, cpuPeriod: 100_000n },
    });
    assert.equal(fs.readFileSync(`/sys/fs/cgroup/memory/${cgroupParent}/memory.limit_in_bytes`, 'utf8').trim(), String(80n * MiB));
    assert.equal(fs.readFileSync(`/sys/fs/cgroup/cpu/${cgroupParent}/cpu.cfs_quota_us`, 'utf8').trim(), '60000');
    const info = JSON.parse((await criCall(client, rt.podSandboxStatus, { podSandboxId: pod, verbose: true })).info.info!) as {
      podCgroupLimits: Record<string, number>;
    };
    assert.deepEqual(info.podCgroupLimits, { memory: Number(80n * MiB), cpuQuota: 60000, cpuPeriod: 100000 });

    const c = await runContainer(pod, 'limited', 'exec sleep 1000', {
      linux: { resources: { memoryLimitInBytes: 32n * MiB, memorySwapLimitInBytes: 48n * MiB, cpuShares: 512n } },
    });
    const cg = `/sys/fs/cgroup/memory/${cgroupParent}/${c}`;
    assert.equal(fs.readFileSync(`${cg}/memory.limit_in_bytes`, 'utf8').trim(), String(32n * MiB), 'the container is inside the pod cgroup');
    assert.equal(fs.readFileSync(`${cg}/memory.memsw.limit_in_bytes`, 'utf8').trim(), String(48n * MiB));
    await criCall(client, rt.updateContainerResources, { containerId: c, linux: { memoryLimitInBytes: 40n * MiB, memorySwapLimitInBytes: 56n * MiB } });
    assert.equal(fs.readFileSync(`${cg}/memory.limit_in_bytes`, 'utf8').trim(), String(40n * MiB));
    const st = (await criCall(client, rt.containerStatus, { containerId: c })).status!;
    assert.equal(st.resources?.linux?.memoryLimitInBytes, 40n * MiB);
    assert.equal(st.resources?.linux?.memorySwapLimitInBytes, 56n * MiB);
    assert.equal(st.resources?.linux?.cpuShares, 512n);
    const stats = (await criCall(client, rt.containerStats, { containerId: c })).stats!;
    assert.ok((stats.memory?.workingSetBytes?.value ?? 0n) > 0n);
    assert.ok(stats.memory?.rssBytes !== undefined && stats.memory?.pageFaults !== undefined);
    assert.equal(stats.memory?.availableBytes?.value, 40n * MiB - stats.memory!.workingSetBytes!.value, 'available: the limit less the working set');
    assert.ok((stats.cpu?.usageCoreNanoSeconds?.value ?? 0n) > 0n);
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('a daemon SIGKILLed between the pod’s netns and its record leaves nothing after the restart; an unreadable record neither', async () => {
    const netnsDir = path.join(engine.state, 'netns');
    const podsDir = path.join(engine.root, 'pods');
    fs.mkdirSync(netnsDir, { recursive: true, mode: 0o711 });
    const mounted = (): string[] =>
      fs
        .readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.includes(netnsDir));
    let caught = false;
    for (let attempt = 0; attempt < 6 && !caught; attempt++) {
      const before = new Set(fs.readdirSync(netnsDir));
      const pid = engine.pid;
      // Killed the moment the namespace's file appears: the pause is being created, no record yet.
      let fired: () => void = () => undefined;
      const killed = new Promise<void>((resolve) => (fired = resolve));
      const watcher = fs.watch(netnsDir, (_event, name) => {
        if (name && !before.has(name)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
          fired();
        }
      });
      const run = criCall(client, rt.runPodSandbox, { config: podConfig(`leak${attempt}`) }).catch(() => undefined);
      await Promise.race([killed, run]);
      await engine.kill9();
      watcher.close();
      await run;
      caught = fs.readdirSync(podsDir).length === 0 && fs.readdirSync(netnsDir).length > 0;
      await engine.startDaemon();
      if (!caught) {
        // Too late (the record was written): the pod is a normal one; removed, and another try.
        for (const pod of (await criCall(client, rt.listPodSandbox, {})).items) await criCall(client, rt.removePodSandbox, { podSandboxId: pod.id });
      }
    }
    assert.ok(caught, 'the kill landed between the namespace and the record');
    assert.deepEqual(fs.readdirSync(netnsDir), [], 'the namespace file is gone');
    assert.deepEqual(mounted(), [], 'and unpinned');
    assert.deepEqual((await criCall(client, rt.listPodSandbox, {})).items, []);
    assert.doesNotMatch(ok(await engine.isula(['ps', '-a']), 'isula ps -a'), /k8s_POD_leak/, 'no pause left');

    // A record the restarted daemon cannot read: the pod's pause and its namespace go too.
    const pod = await runPod('broken');
    await engine.kill9();
    fs.writeFileSync(path.join(podsDir, pod, 'pod.json'), '{"id": tru');
    await engine.startDaemon();
    assert.deepEqual((await criCall(client, rt.listPodSandbox, {})).items, []);
    assert.deepEqual(fs.readdirSync(netnsDir), []);
    assert.deepEqual(mounted(), []);
    assert.doesNotMatch(ok(await engine.isula(['ps', '-a']), 'isula ps -a'), /k8s_POD_broken/);
  });

  it('GetContainerEvents: every event type, with the pod’s status and its containers’ statuses attached', async () => {
    const events: ContainerEventResponse[] = [];
    const stream = client.makeServerStreamRequest(
      criPath(rt.getContainerEvents),
      (r: object) => Buffer.from(toBinary(rt.getContainerEvents.input, create(rt.getContainerEvents.input, r))),
      (b: Buffer) => fromBinary(rt.getContainerEvents.output, b),
      {},
    );
    stream.on('data', (e: ContainerEventResponse) => events.push(e));
    stream.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pod = await runPod('events');
    const c = await runContainer(pod, 'ev', 'exec sleep 1000');
    await criCall(client, rt.stopContainer, { containerId: c, timeout: 1n });
    await criCall(client, rt.removeContainer, { containerId: c });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stream.cancel();
    const mine = events.filter((e) => e.containerId === c);
    assert.deepEqual(
      mine.map((e) => e.containerEventType),
      [
        ContainerEventType.CONTAINER_CREATED_EVENT,
        ContainerEventType.CONTAINER_STARTED_EVENT,
        ContainerEventType.CONTAINER_STOPPED_EVENT,
        ContainerEventType.CONTAINER_DELETED_EVENT,
      ],
    );
    for (const e of mine) {
      assert.equal(e.podSandboxStatus?.id, pod, 'the pod’s status is attached');
      assert.equal(e.podSandboxStatus?.state, PodSandboxState.SANDBOX_READY);
      assert.equal(e.podSandboxStatus?.metadata?.name, 'events');
    }
    const statusIn = (e: ContainerEventResponse) => e.containersStatuses.find((x) => x.id === c);
    assert.equal(statusIn(mine[0]!)?.state, ContainerState.CONTAINER_CREATED);
    assert.equal(statusIn(mine[1]!)?.state, ContainerState.CONTAINER_RUNNING);
    assert.equal(statusIn(mine[2]!)?.state, ContainerState.CONTAINER_EXITED);
    assert.equal(statusIn(mine[3]!), undefined, 'a deleted container is in no status list');
    // The pause's events name the pod itself.
    assert.ok(events.some((e) => e.containerId === pod && e.containerEventType === ContainerEventType.CONTAINER_STARTED_EVENT));
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('isula sees CRI containers: ps with Kubernetes’ names, logs from the CRI log at log_path', async () => {
    const pod = await runPod('seen');
    fs.mkdirSync(path.join(work, 'logs', 'seen'), { recursive: true });
    const c = await runContainer(pod, 'web', 'echo hello out; echo hello err >&2; exec sleep 1000', {
      logPath: 'web/0.log',
      image: { image: bb, annotations: { 'example.com/image-note': 'kept' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const logFile = path.join(work, 'logs', 'seen', 'web', '0.log');
    assert.match(fs.readFileSync(logFile, 'utf8'), /^\S+ stdout F hello out$/m, 'the CRI format on disk');
    const logs = await engine.isula(['logs', c]);
    assert.equal(logs.code, 0, show(logs));
    assert.equal(logs.stdout, 'hello out\n');
    assert.equal(logs.stderr, 'hello err\n');
    // ImageSpec annotations round-trip (CRI 1.25).
    assert.deepEqual((await criCall(client, rt.containerStatus, { containerId: c })).status?.image?.annotations, { 'example.com/image-note': 'kept' });
    assert.deepEqual((await criCall(client, rt.listContainers, { filter: { id: c } })).containers[0]?.image?.annotations, { 'example.com/image-note': 'kept' });
    const ps = ok(await engine.isula(['ps', '--no-trunc']), 'isula ps');
    assert.match(ps, new RegExp(`${c}.*k8s_web_seen_default_uid-seen_\\d+`));
    assert.match(ps, new RegExp(`${pod}.*k8s_POD_seen_default_uid-seen_\\d+`));
    await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
  });

  it('the garbage collector takes a pod whose cgroup someone else froze: RemovePodSandbox returns, thaw reclaims pause and container', {
    skip: !fs.existsSync('/sys/fs/cgroup/freezer') && 'needs the cgroup v1 freezer',
  }, async () => {
    const parent = `${cgroupParent}-gc`;
    const freezer = `/sys/fs/cgroup/freezer/${parent}`;
    const pod = await runPod('stuck', { cgroupParent: `/${parent}` });
    const c = await runContainer(pod, 'frozen', 'exec sleep 1000');
    const pidOf = async (id: string): Promise<number> =>
      (JSON.parse((await criCall(client, rt.containerStatus, { containerId: id, verbose: true })).info.info!) as { pid: number }).pid;
    const pid = await pidOf(c);
    const rootfs = (JSON.parse((await criCall(client, rt.containerStatus, { containerId: c, verbose: true })).info.info!) as { config: { BaseFs: string } })
      .config.BaseFs;
    const mounted = (): boolean => fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${rootfs} `);
    assert.ok(mounted(), `the container's rootfs ${rootfs} is mounted`);
    fs.writeFileSync(`${freezer}/freezer.state`, 'FROZEN');
    try {
      const t0 = Date.now();
      await criCall(client, rt.removePodSandbox, { podSandboxId: pod });
      assert.ok(Date.now() - t0 < 8000, `RemovePodSandbox took ${Date.now() - t0} ms`);
      assert.deepEqual(
        (await criCall(client, rt.listPodSandbox, {})).items.filter((p) => p.id === pod),
        [],
      );
      assert.deepEqual((await criCall(client, rt.listContainers, { filter: { podSandboxId: pod } })).containers, []);
      assert.match(ok(await engine.isula(['info']), 'isula info'), /^Garbage Collector: 2 leftover\(s\)$/m, 'the pause and the container');
      assert.equal(fs.readFileSync(`${freezer}/freezer.state`, 'utf8').trim(), 'FROZEN', 'a cgroup the engine does not own stays frozen');
    } finally {
      fs.writeFileSync(`${freezer}/freezer.state`, 'THAWED');
    }
    const deadline = Date.now() + 8000;
    let info = '';
    while (Date.now() < deadline) {
      info = ok(await engine.isula(['info']), 'isula info');
      if (/^Garbage Collector: 0 leftover\(s\)$/m.test(info) && !fs.existsSync(`/proc/${pid}`)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.match(info, /^Garbage Collector: 0 leftover\(s\)$/m);
    for (let i = 0; i < 25 && mounted(); i++) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!mounted(), 'the collected container’s rootfs overlay is unmounted');
    assert.ok(!fs.existsSync(`/proc/${pid}/cmdline`) || fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '', 'the container’s process is gone');
    for (const h of fs.readdirSync('/sys/fs/cgroup')) {
      assert.ok(!fs.existsSync(`/sys/fs/cgroup/${h}/${parent}/${c}`), `no cgroup of the container left in ${h}`);
      try {
        fs.rmdirSync(`/sys/fs/cgroup/${h}/${parent}`);
      } catch {
        // not made in this hierarchy
      }
    }
  });
});

const cniSkip = missingCniPlugins(['bridge', 'host-local', 'loopback']);

describe('CRI 1.25 fields on a dual-stack CNI bridge', { timeout: 5 * 60_000, skip: cniSkip }, () => {
  // Unique per run: a bridge and subnets of its own, beside other tests' and helpers'.
  const tag = (process.pid % 50000).toString(36);
  const BRIDGE = `crif${tag}`;
  const V4 = `10.${100 + (process.pid % 150)}.77.`;
  const V6 = `fd00:77:${(process.pid % 65535).toString(16)}::`;
  let engine: TestEngine;
  let client: grpc.Client;
  let work: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-fields-cni-'));
    const network = bridgeNetwork(work, `cri-fields-${tag}`, BRIDGE, [`${V4}0/24`, `${V6}/64`], CNI_PLUGINS);
    engine = await startCriEngine(work, PAUSE, ['--log-driver', 'stdout'], network);
    client = criClient(engine.sock);
  });

  after(async () => {
    await removeAllPods(client);
    client?.close();
    await engine?.cleanup().catch((e: Error) => console.log(`# engine cleanup: ${e.message}`));
    deleteBridge(BRIDGE);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('PodSandboxStatus reports the IPv4 address as ip and the IPv6 one in additional_ips', async () => {
    const podId = (await criCall(client, rt.runPodSandbox, { config: { metadata: { name: 'dual', uid: 'uid-dual', namespace: 'net', attempt: 0 } } }))
      .podSandboxId;
    const network = (await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.network;
    assert.ok(network?.ip.startsWith(V4), `ip ${network?.ip} in ${V4}0/24`);
    assert.deepEqual(
      network?.additionalIps.map((a) => a.ip.startsWith(V6.replace(/::$/, ':'))),
      [true],
      `additional ips ${JSON.stringify(network?.additionalIps.map((a) => a.ip))} in ${V6}/64`,
    );
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
  });
});
