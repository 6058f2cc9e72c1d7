/**
 * CRI pod sandboxes and their containers against the real daemon (enable-cri-v1) on LXC: the
 * pause image built and loaded from rootfs-samples/pause-image.sh, an app image from Debian's
 * docker-registry, crictl (grpc-go) and a grpc-js client typed from the project's proto.
 * Pods here have no CNI network: the pause holds a loopback-only network namespace.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ContainerEventType, ContainerState, ImageService, PodSandboxState, RuntimeService } from '../../src/api/cri/gen/api_pb.js';
import { criPath } from '../../src/api/cri/services.js';
import { show } from '../helpers/cli.js';
import {
  bridgeNetwork,
  CNI_PLUGINS,
  deleteBridge,
  removeAllPods,
  missingCniPlugins,
  criCall,
  criClient,
  criFailure,
  crictl,
  findCrictl,
  startCriEngine,
} from '../helpers/cri.js';
import type { RunResult } from '../helpers/engine.js';
import { run, type TestEngine } from '../helpers/engine.js';
import { busyboxImage, pushImage } from '../helpers/oci-images.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';

const CRICTL = findCrictl();
if (!CRICTL) console.log('# crictl not found at ../shared/tools/crictl (or $CRICTL): the crictl pod tests are skipped');
const noCrictl = CRICTL ? false : 'crictl not found at ../shared/tools/crictl (set CRICTL to run these)';
const rt = RuntimeService.method;
const PAUSE = 'localhost/pause:3.9';

const ok = (r: RunResult, what: string): string => {
  assert.equal(r.code, 0, `${what}: ${show(r)}`);
  return r.stdout;
};

const nsOf = (pid: number, kind: string): string => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);

describe('CRI pods', { timeout: 10 * 60_000 }, () => {
  let reg: TestRegistry;
  let engine: TestEngine;
  let client: grpc.Client;
  let work: string;
  let bb: string;

  const podConfig = (name: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 1 },
    hostname: `${name}-host`,
    logDirectory: path.join(work, 'logs', name),
    dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    labels: { app: name, tier: 'test' },
    annotations: { 'example.com/note': 'kept' },
    ...extra,
  });
  const ctrConfig = (name: string, args: string[], extra: Record<string, unknown> = {}) => ({
    metadata: { name, attempt: 0 },
    image: { image: bb },
    command: ['/bin/sh', '-c'],
    args,
    envs: [{ key: 'GREETING', value: 'hello pod' }],
    labels: { ctr: name },
    annotations: { 'example.com/ctr': name },
    logPath: `${name}.log`,
    ...extra,
  });

  async function runPod(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const config = podConfig(name, extra);
    fs.mkdirSync(config.logDirectory, { recursive: true });
    return (await criCall(client, rt.runPodSandbox, { config })).podSandboxId;
  }

  async function runContainer(podId: string, podName: string, name: string, args: string[]): Promise<string> {
    const { containerId } = await criCall(client, rt.createContainer, {
      podSandboxId: podId,
      config: ctrConfig(name, args),
      sandboxConfig: podConfig(podName),
    });
    await criCall(client, rt.startContainer, { containerId });
    return containerId;
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-pods-'));
    reg = await startRegistry();
    pushImage(busyboxImage(), reg, 'busybox:latest');
    bb = `${reg.host}/busybox:latest`;
    engine = await startCriEngine(work, PAUSE, ['--log-driver', 'stdout', '--log-level', 'DEBUG'], {
      'insecure-registries': [reg.host],
      'cri-runtimes': { lxc: 'lcr' },
    });
    client = criClient(engine.sock);
    await criCall(client, ImageService.method.pullImage, { image: { image: bb } });
  });

  after(async () => {
    if (client) await removeAllPods(client);
    client?.close();
    await engine?.cleanup();
    await reg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs a pod: the pause is pid 1 of its namespaces, with the pod hostname; status, list and labels round-trip', async () => {
    const id = await runPod('alpha');
    assert.match(id, /^[0-9a-f]{64}$/);
    const { status, info } = await criCall(client, rt.podSandboxStatus, { podSandboxId: id, verbose: true });
    assert.equal(status?.state, PodSandboxState.SANDBOX_READY);
    assert.equal(status?.metadata?.name, 'alpha');
    assert.deepEqual(status?.labels, { app: 'alpha', tier: 'test' });
    assert.deepEqual(status?.annotations, { 'example.com/note': 'kept' });
    assert.ok((status?.createdAt ?? 0n) > 0n);
    const verbose = JSON.parse(info.info ?? '{}') as { pid: number };
    assert.ok(verbose.pid > 0, 'verbose info has the pause pid');
    assert.equal(fs.readFileSync(`/proc/${verbose.pid}/comm`, 'utf8').trim(), 'pause');
    assert.notEqual(nsOf(verbose.pid, 'net'), nsOf(process.pid, 'net'), 'the pod has its own network namespace');
    assert.notEqual(nsOf(verbose.pid, 'ipc'), nsOf(process.pid, 'ipc'));

    // A prefix of the id, a label selector and a state filter.
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: id.slice(0, 12) })).status?.id, id);
    const listed = await criCall(client, rt.listPodSandbox, { filter: { labelSelector: { app: 'alpha' } } });
    assert.deepEqual(
      listed.items.map((p) => p.id),
      [id],
    );
    assert.deepEqual((await criCall(client, rt.listPodSandbox, { filter: { labelSelector: { app: 'nope' } } })).items, []);
    assert.deepEqual((await criCall(client, rt.listPodSandbox, { filter: { state: { state: PodSandboxState.SANDBOX_NOTREADY } } })).items, []);

    // isula ps shows the pause with Kubernetes' naming.
    const ps = ok(await engine.isula(['ps', '--no-trunc']), 'isula ps');
    assert.match(ps, new RegExp(`${id}.*k8s_POD_alpha_default_uid-alpha_1`));
  });

  it('runs containers in the pod: shared net, ipc and uts namespaces, the pod hostname and DNS, CRI logs; ExecSync with separate streams', async () => {
    const podId = (await criCall(client, rt.listPodSandbox, { filter: { labelSelector: { app: 'alpha' } } })).items[0]!.id;
    const pausePid = (JSON.parse((await criCall(client, rt.podSandboxStatus, { podSandboxId: podId, verbose: true })).info.info!) as { pid: number }).pid;
    // GetContainerEvents: a server stream of the lifecycle, open before the container is made.
    const events: [string, ContainerEventType][] = [];
    const eventStream = client.makeServerStreamRequest(
      criPath(rt.getContainerEvents),
      (r: object) => Buffer.from(toBinary(rt.getContainerEvents.input, create(rt.getContainerEvents.input, r))),
      (b: Buffer) => fromBinary(rt.getContainerEvents.output, b),
      {},
    );
    eventStream.on('data', (e: { containerId: string; containerEventType: ContainerEventType }) => events.push([e.containerId, e.containerEventType]));
    eventStream.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cid = await runContainer(podId, 'alpha', 'web', ['echo "$GREETING"; echo oops >&2; exec sleep 1000']);
    const st = (await criCall(client, rt.containerStatus, { containerId: cid, verbose: true })).status!;
    assert.equal(st.state, ContainerState.CONTAINER_RUNNING);
    assert.equal(st.metadata?.name, 'web');
    assert.equal(st.image?.image, bb);
    // kubelet's imageID: the repo digest the image was pulled by, as containerd reports it.
    assert.match(st.imageRef, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/busybox@sha256:[0-9a-f]{64}$`));
    assert.deepEqual(st.labels, { ctr: 'web' });
    assert.deepEqual(st.annotations, { 'example.com/ctr': 'web' });
    assert.equal(st.logPath, path.join(work, 'logs', 'alpha', 'web.log'));
    assert.ok(st.startedAt > 0n);

    const exec = async (cmd: string[], timeout = 0n) => criCall(client, rt.execSync, { containerId: cid, cmd, timeout });
    const r = await exec([
      '/bin/sh',
      '-c',
      'for ns in /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts; do readlink $ns; done; cat /proc/sys/kernel/hostname; cat /etc/resolv.conf; echo err >&2; exit 3',
    ]);
    assert.equal(r.exitCode, 3);
    assert.equal(Buffer.from(r.stderr).toString(), 'err\n');
    const lines = Buffer.from(r.stdout).toString().split('\n');
    assert.equal(lines[0], nsOf(pausePid, 'net'), 'the container is in the pause network namespace');
    assert.equal(lines[1], nsOf(pausePid, 'ipc'));
    assert.equal(lines[2], nsOf(pausePid, 'uts'));
    assert.equal(lines[3], 'alpha-host');
    assert.deepEqual(lines.slice(4, 7), ['search default.svc.cluster.local', 'nameserver 10.96.0.10', 'options ndots:5']);
    // The pod's etc files, bound over the rootfs's; the container has none of its own.
    const etc = Buffer.from((await exec(['cat', '/etc/hostname', '/etc/hosts'])).stdout).toString();
    assert.match(etc, /^alpha-host\n127\.0\.0\.1\tlocalhost\n[\s\S]*ip6-allnodes/);
    for (const f of ['hostname', 'hosts', 'resolv.conf']) assert.ok(!fs.existsSync(path.join(engine.root, 'engines', 'lcr', cid, f)), `no ${f} of its own`);
    assert.equal(ok(await engine.isula(['inspect', '-f', '{{.HostsPath}}', cid]), 'inspect').trim(), path.join(engine.root, 'pods', podId, 'hosts'));

    const log = fs.readFileSync(st.logPath, 'utf8');
    assert.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+Z stdout F hello pod\n/m);
    assert.match(log, /^\S+ stderr F oops\n/m);
    // Log rotation as kubelet does it: move the file away, ask for a new one.
    fs.renameSync(st.logPath, `${st.logPath}.1`);
    await criCall(client, rt.reopenContainerLog, { containerId: cid });
    assert.ok(!fs.existsSync(st.logPath), 'the new file is made by the next output');

    const slow = await criFailure(exec(['sleep', '30'], 1n));
    assert.equal(slow.code, grpc.status.DEADLINE_EXCEEDED, slow.details);

    // ListContainers: by pod, by state, by label; the pause is not a CRI container.
    const byPod = await criCall(client, rt.listContainers, { filter: { podSandboxId: podId } });
    assert.deepEqual(
      byPod.containers.map((c) => c.id),
      [cid],
    );
    assert.equal(
      (await criCall(client, rt.listContainers, { filter: { labelSelector: { ctr: 'web' }, state: { state: ContainerState.CONTAINER_RUNNING } } })).containers
        .length,
      1,
    );
    const pauseAsContainer = await criFailure(criCall(client, rt.containerStatus, { containerId: podId }));
    assert.equal(pauseAsContainer.code, grpc.status.NOT_FOUND);

    // Stats from the container's cgroup; the pod's add up its pause and containers.
    const stats = (await criCall(client, rt.containerStats, { containerId: cid })).stats!;
    assert.equal(stats.attributes?.id, cid);
    assert.ok((stats.cpu?.usageCoreNanoSeconds?.value ?? 0n) > 0n, 'cpu usage');
    assert.ok((stats.memory?.workingSetBytes?.value ?? 0n) > 0n, 'working set');
    assert.deepEqual(
      (await criCall(client, rt.listContainerStats, { filter: { podSandboxId: podId } })).stats.map((x) => x.attributes?.id),
      [cid],
    );
    const pod = (await criCall(client, rt.podSandboxStats, { podSandboxId: podId })).stats!;
    assert.ok((pod.linux?.memory?.workingSetBytes?.value ?? 0n) >= (stats.memory?.workingSetBytes?.value ?? 0n));
    assert.deepEqual(
      pod.linux?.containers.map((x) => x.attributes?.id),
      [cid],
    );

    await criCall(client, rt.stopContainer, { containerId: cid, timeout: 1n });
    const stopped = (await criCall(client, rt.containerStatus, { containerId: cid })).status!;
    assert.equal(stopped.state, ContainerState.CONTAINER_EXITED);
    // In the pod's pid namespace (proto3's default, POD) sleep is not pid 1: SIGTERM ends it.
    assert.equal(stopped.exitCode, 143);
    assert.equal(stopped.reason, 'Error');
    assert.ok(stopped.finishedAt >= stopped.startedAt);
    await criCall(client, rt.removeContainer, { containerId: cid });
    await criCall(client, rt.removeContainer, { containerId: cid });
    assert.equal((await criFailure(criCall(client, rt.containerStatus, { containerId: cid }))).code, grpc.status.NOT_FOUND);
    eventStream.cancel();
    assert.deepEqual(
      events.filter(([id]) => id === cid).map(([, type]) => type),
      [
        ContainerEventType.CONTAINER_CREATED_EVENT,
        ContainerEventType.CONTAINER_STARTED_EVENT,
        ContainerEventType.CONTAINER_STOPPED_EVENT,
        ContainerEventType.CONTAINER_DELETED_EVENT,
      ],
    );
  });

  it('answers NOT_FOUND for unknown pods and containers, and refuses an unknown runtime handler by name', async () => {
    for (const call of [
      criCall(client, rt.podSandboxStatus, { podSandboxId: 'f'.repeat(64) }),
      criCall(client, rt.stopPodSandbox, { podSandboxId: 'f'.repeat(64) }),
      criCall(client, rt.containerStatus, { containerId: 'f'.repeat(64) }),
      criCall(client, rt.startContainer, { containerId: 'f'.repeat(64) }),
      criCall(client, rt.createContainer, { podSandboxId: 'f'.repeat(64), config: ctrConfig('x', ['true']) }),
    ]) {
      assert.equal((await criFailure(call)).code, grpc.status.NOT_FOUND);
    }
    await criCall(client, rt.removePodSandbox, { podSandboxId: 'f'.repeat(64) });
    const bad = await criFailure(criCall(client, rt.runPodSandbox, { config: podConfig('gamma'), runtimeHandler: 'kata' }));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /runtime handler "kata"/);
    assert.deepEqual((await criCall(client, rt.listPodSandbox, { filter: { labelSelector: { app: 'gamma' } } })).items, [], 'nothing left of it');
  });

  it('runs a pod on the cri-runtimes handler, with host networking', async () => {
    const id = await runPod('hostnet', { linux: { securityContext: { namespaceOptions: { network: 2 } } } });
    const { status, info } = await criCall(client, rt.podSandboxStatus, { podSandboxId: id, verbose: true });
    assert.equal(status?.runtimeHandler, '');
    const pid = (JSON.parse(info.info!) as { pid: number }).pid;
    assert.equal(nsOf(pid, 'net'), nsOf(process.pid, 'net'));
    await criCall(client, rt.removePodSandbox, { podSandboxId: id });
    const handled = await criCall(client, rt.runPodSandbox, { config: podConfig('handled'), runtimeHandler: 'lxc' });
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: handled.podSandboxId })).status?.runtimeHandler, 'lxc');
    await criCall(client, rt.removePodSandbox, { podSandboxId: handled.podSandboxId });
  });

  it('drives a pod with crictl: runp, create, start, exec -s, ps, pods, inspectp, stopp, rmp', { skip: noCrictl }, async () => {
    const cli = (args: string[]) => crictl(CRICTL!, engine.sock, args);
    const pod = podConfig('beta');
    fs.mkdirSync(pod.logDirectory, { recursive: true });
    const podFile = path.join(work, 'pod.json');
    const ctrFile = path.join(work, 'ctr.json');
    // crictl reads the JSON form of the CRI messages (snake_case field names).
    fs.writeFileSync(
      podFile,
      JSON.stringify({ metadata: pod.metadata, hostname: pod.hostname, log_directory: pod.logDirectory, labels: pod.labels, dns_config: pod.dnsConfig }),
    );
    fs.writeFileSync(ctrFile, JSON.stringify({ metadata: { name: 'sh' }, image: { image: bb }, command: ['sleep', '1000'], log_path: 'sh.log' }));
    const podId = ok(await cli(['runp', podFile]), 'crictl runp').trim();
    const ctrId = ok(await cli(['create', podId, ctrFile, podFile]), 'crictl create').trim();
    ok(await cli(['start', ctrId]), 'crictl start');
    // crictl prints stdout and stderr each with a newline of its own.
    assert.equal(ok(await cli(['exec', '-s', ctrId, 'echo', 'hi']), 'crictl exec -s').trimEnd(), 'hi');
    // Through the streaming server (SPDY), with the exit code carried back.
    assert.equal(ok(await cli(['exec', ctrId, 'cat', '/etc/hostname']), 'crictl exec'), 'beta-host\n');
    const piped = await run(CRICTL!, ['-r', `unix://${engine.sock}`, 'exec', '-i', ctrId, 'cat'], { input: 'through stdin\n' });
    assert.equal(ok(piped, 'crictl exec -i'), 'through stdin\n');
    const failed = await cli(['exec', ctrId, 'sh', '-c', 'exit 7']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /exit code 7/);
    assert.match(ok(await cli(['ps']), 'crictl ps'), new RegExp(`${ctrId.slice(0, 13)}.*Running +sh`));
    assert.match(ok(await cli(['stats']), 'crictl stats'), new RegExp(ctrId.slice(0, 13)));
    assert.match(ok(await cli(['pods']), 'crictl pods'), new RegExp(`${podId.slice(0, 13)}.*Ready +beta +default +1`));
    const inspect = JSON.parse(ok(await cli(['inspectp', podId]), 'crictl inspectp')) as { status: { state: string; metadata: { name: string } } };
    assert.equal(inspect.status.state, 'SANDBOX_READY');
    // attach: the main process's output as it comes.
    const tickerFile = path.join(work, 'ticker.json');
    fs.writeFileSync(
      tickerFile,
      JSON.stringify({
        metadata: { name: 'ticker' },
        image: { image: bb },
        command: ['sh', '-c', 'while :; do echo tick; sleep 1; done'],
        log_path: 'ticker.log',
      }),
    );
    const ticker = ok(await cli(['create', podId, tickerFile, podFile]), 'crictl create ticker').trim();
    ok(await cli(['start', ticker]), 'crictl start ticker');
    const attach = spawn(CRICTL!, ['-r', `unix://${engine.sock}`, 'attach', ticker], { stdio: ['ignore', 'pipe', 'pipe'] });
    let attached = '';
    attach.stdout.on('data', (d: Buffer) => (attached += d.toString()));
    for (let i = 0; i < 50 && !attached.includes('tick'); i++) await new Promise((resolve) => setTimeout(resolve, 200));
    attach.kill();
    assert.match(attached, /^tick$/m, 'crictl attach shows the output');

    ok(await cli(['stopp', podId]), 'crictl stopp');
    assert.match(ok(await cli(['pods']), 'crictl pods'), /NotReady/);
    assert.match(ok(await cli(['ps', '-a']), 'crictl ps -a'), /Exited/);
    ok(await cli(['rmp', podId]), 'crictl rmp');
    assert.doesNotMatch(ok(await cli(['pods']), 'crictl pods'), new RegExp(podId.slice(0, 13)));
    assert.doesNotMatch(ok(await engine.isula(['ps', '-a', '--no-trunc']), 'isula ps -a'), new RegExp(`${podId}|${ctrId}`));
  });

  it('keeps pods and their containers over a daemon SIGKILL: exec works afterwards, stop and remove clean up', async () => {
    const podId = (await criCall(client, rt.listPodSandbox, { filter: { labelSelector: { app: 'alpha' } } })).items[0]!.id;
    const cid = await runContainer(podId, 'alpha', 'survivor', ['exec sleep 1000']);
    await engine.restart();
    client.close();
    client = criClient(engine.sock);
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.state, PodSandboxState.SANDBOX_READY);
    const r = await criCall(client, rt.execSync, { containerId: cid, cmd: ['cat', '/proc/sys/kernel/hostname'] });
    assert.equal(Buffer.from(r.stdout).toString(), 'alpha-host\n');
    await criCall(client, rt.stopPodSandbox, { podSandboxId: podId });
    await criCall(client, rt.stopPodSandbox, { podSandboxId: podId });
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.state, PodSandboxState.SANDBOX_NOTREADY);
    assert.equal((await criCall(client, rt.containerStatus, { containerId: cid })).status?.state, ContainerState.CONTAINER_EXITED);
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
    assert.equal((await criFailure(criCall(client, rt.containerStatus, { containerId: cid }))).code, grpc.status.NOT_FOUND);
    assert.deepEqual((await criCall(client, rt.listPodSandbox, { filter: { id: podId } })).items, []);
    assert.ok(!fs.existsSync(path.join(engine.root, 'pods', podId)), 'the pod folder is gone');
  });

  it('a CreateContainer whose log directory cannot be made fails and leaves no container, directory or layer', async () => {
    const config = podConfig('delta');
    // The pod's log directory is a file: the container's own directory under it cannot be made.
    fs.mkdirSync(path.dirname(config.logDirectory), { recursive: true });
    fs.writeFileSync(config.logDirectory, 'not a directory');
    const podId = (await criCall(client, rt.runPodSandbox, { config })).podSandboxId;
    const dirs = () => ['engines/lcr', 'storage/overlay'].flatMap((d) => fs.readdirSync(path.join(engine.root, d)).map((e) => `${d}/${e}`)).sort();
    const before = dirs();
    const failed = await criFailure(
      criCall(client, rt.createContainer, { podSandboxId: podId, config: ctrConfig('nolog', ['true'], { logPath: 'sub/nolog.log' }), sandboxConfig: config }),
    );
    assert.match(failed.details, /ENOTDIR|not a directory/i);
    assert.deepEqual((await criCall(client, rt.listContainers, { filter: { podSandboxId: podId } })).containers, []);
    assert.deepEqual(dirs(), before, 'no container directory or layer is left');
    await criCall(client, rt.stopPodSandbox, { podSandboxId: podId });
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
  });

  it('RemoveContainer answers before the host-side cleanup; a daemon SIGKILL right after it leaves no container, files, layer or mount', async () => {
    const podId = await runPod('gamma');
    const cid = await runContainer(podId, 'gamma', 'brief', ['exec sleep 1000']);
    await criCall(client, rt.stopContainer, { containerId: cid, timeout: 0n });
    await criCall(client, rt.removeContainer, { containerId: cid });
    await engine.restart();
    client.close();
    client = criClient(engine.sock);
    assert.equal((await criFailure(criCall(client, rt.containerStatus, { containerId: cid }))).code, grpc.status.NOT_FOUND);
    assert.ok(!ok(await engine.isula(['ps', '-a', '-q', '--no-trunc']), 'isula ps').includes(cid), 'not listed after the restart');
    assert.ok(!fs.existsSync(path.join(engine.root, 'engines', 'lcr', cid)), 'its directory is gone');
    assert.ok(!fs.existsSync(path.join(engine.root, 'storage', 'overlay', cid)), 'its layer is gone');
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(cid), 'its rootfs is not mounted');
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
  });
});

const cniSkip =
  missingCniPlugins(['bridge', 'host-local', 'portmap', 'loopback']) || (!fs.existsSync('/usr/bin/socat') && 'needs socat (port-forward)') || false;

describe('CRI pods on a CNI bridge', { timeout: 10 * 60_000, skip: cniSkip }, () => {
  // Unique per run: a bridge and a subnet of its own, beside other tests' and helpers'.
  const tag = (process.pid % 50000).toString(36);
  const BRIDGE = `crip${tag}`;
  const SUBNET_PREFIX = `10.${100 + (process.pid % 150)}.88.`;
  let engine: TestEngine;
  let client: grpc.Client;
  let work: string;
  let ipamDir: string;
  const children: ChildProcess[] = [];

  const podConfig = (name: string) => ({
    metadata: { name, uid: `uid-${name}`, namespace: 'net', attempt: 0 },
    hostname: name,
    logDirectory: path.join(work, 'logs'),
  });

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-cni-'));
    ipamDir = path.join(work, 'ipam');
    const network = bridgeNetwork(work, `cri-pods-${tag}`, BRIDGE, [`${SUBNET_PREFIX}0/24`], CNI_PLUGINS, [
      { type: 'portmap', capabilities: { portMappings: true } },
    ]);
    engine = await startCriEngine(work, PAUSE, ['--log-driver', 'stdout', '--log-level', 'DEBUG'], network);
    client = criClient(engine.sock);
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await removeAllPods(client);
    client?.close();
    await engine?.cleanup();
    deleteBridge(BRIDGE);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('reports NetworkReady, gives the pod an address on the bridge, port-forwards into it, and releases the address at stop after a daemon SIGKILL', async () => {
    const status = await criCall(client, rt.status, {});
    const networkReady = status.status?.conditions.find((c) => c.type === 'NetworkReady');
    assert.equal(networkReady?.status, true, networkReady?.message);

    const podId = (await criCall(client, rt.runPodSandbox, { config: podConfig('netpod') })).podSandboxId;
    const st = await criCall(client, rt.podSandboxStatus, { podSandboxId: podId, verbose: true });
    const ip = st.status?.network?.ip ?? '';
    assert.ok(ip.startsWith(SUBNET_PREFIX), `pod ip ${ip} in ${SUBNET_PREFIX}0/24`);
    const { netnsPath, pid } = JSON.parse(st.info.info!) as { netnsPath: string; pid: number };
    assert.equal(
      fs.readlinkSync(`/proc/${pid}/ns/net`),
      execFileSync('nsenter', [`--net=${netnsPath}`, 'readlink', '/proc/self/ns/net'])
        .toString()
        .trim(),
    );
    assert.match(
      execFileSync('nsenter', [`--net=${netnsPath}`, 'ip', '-4', 'addr', 'show', 'eth0']).toString(),
      new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`),
    );
    assert.ok(fs.existsSync(path.join(ipamDir, `cri-pods-${tag}`, ip)), 'host-local holds the address');

    if (CRICTL) {
      // A server inside the pod's network namespace on its loopback only, reached through crictl port-forward.
      const server = spawn('nsenter', [`--net=${netnsPath}`, 'socat', 'TCP-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr', 'SYSTEM:echo hello-from-pod'], {
        stdio: 'ignore',
      });
      children.push(server);
      const local = await freePort();
      const forward = spawn(CRICTL, ['-r', `unix://${engine.sock}`, 'port-forward', podId, `${local}:8080`], { stdio: 'ignore' });
      children.push(forward);
      let answer = '';
      for (let i = 0; i < 50 && answer === ''; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        answer = await new Promise<string>((resolve) => {
          const sock = net.connect(local, '127.0.0.1');
          let got = '';
          sock.on('data', (d) => (got += d.toString()));
          sock.on('end', () => resolve(got));
          sock.on('error', () => resolve(''));
        });
      }
      assert.equal(answer, 'hello-from-pod\n');
      forward.kill();
      server.kill();
    }

    await engine.restart();
    client.close();
    client = criClient(engine.sock);
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.network?.ip, ip, 'the address survives the restart');
    await criCall(client, rt.stopPodSandbox, { podSandboxId: podId });
    assert.ok(!fs.existsSync(path.join(ipamDir, `cri-pods-${tag}`, ip)), 'stop released the address (CNI DEL from the cache)');
    assert.equal((await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.network?.ip, '');
    assert.ok(fs.existsSync(netnsPath), 'the netns stays until the pod is removed');
    await criCall(client, rt.removePodSandbox, { podSandboxId: podId });
    assert.ok(!fs.existsSync(netnsPath), 'remove dropped the netns');
  });

  it('a daemon SIGKILLed while a pod’s network is added, before the pod’s record, leaves no address, namespace or pause after the restart', async () => {
    const resultsDir = path.join(engine.root, 'cni', 'results');
    const podsDir = path.join(engine.root, 'pods');
    const netnsDir = path.join(engine.state, 'netns');
    fs.mkdirSync(resultsDir, { recursive: true });
    const addresses = (): string[] => fs.readdirSync(path.join(ipamDir, `cri-pods-${tag}`)).filter((f) => net.isIP(f) !== 0);
    const podRecords = (): string[] => fs.readdirSync(podsDir).filter((id) => fs.existsSync(path.join(podsDir, id, 'pod.json')));
    let caught = false;
    for (let attempt = 0; attempt < 6 && !caught; attempt++) {
      const pid = engine.pid;
      // Killed the moment the ADD's cache record appears (renamed from its temp file): the
      // plugins are about to run, the pause is being made.
      let fired: () => void = () => undefined;
      const killed = new Promise<void>((resolve) => (fired = resolve));
      const watcher = fs.watch(resultsDir, (_event, name) => {
        if (!name?.endsWith('.json')) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        fired();
      });
      const run = criCall(client, rt.runPodSandbox, { config: podConfig(`half${attempt}`) }).catch(() => undefined);
      await Promise.race([killed, run]);
      await engine.kill9();
      watcher.close();
      await run;
      caught = podRecords().length === 0 && fs.readdirSync(resultsDir).some((f) => f.endsWith('.json'));
      await engine.startDaemon();
      client.close();
      client = criClient(engine.sock);
      if (!caught) {
        // Too late (the record was written): the pod is a normal one; removed, and another try.
        for (const pod of (await criCall(client, rt.listPodSandbox, {})).items) await criCall(client, rt.removePodSandbox, { podSandboxId: pod.id });
      }
    }
    assert.ok(caught, 'the kill landed between the network’s cache record and the pod’s record');
    assert.deepEqual(fs.readdirSync(resultsDir), [], 'the restarted daemon DELed the network');
    assert.deepEqual(addresses(), [], 'host-local holds no address');
    assert.deepEqual(fs.readdirSync(netnsDir), [], 'no namespace file');
    assert.deepEqual((await criCall(client, rt.listPodSandbox, {})).items, []);
    assert.doesNotMatch(ok(await engine.isula(['ps', '-a']), 'isula ps -a'), /k8s_POD_half/, 'no pause left');
  });

  it('a stop whose record a daemon kill lost: the pod reads NOTREADY after the restart, stopping it again leaves another pod’s address alone, and remove cleans up', async () => {
    const addressOf = async (podId: string): Promise<string> => (await criCall(client, rt.podSandboxStatus, { podSandboxId: podId })).status?.network?.ip ?? '';
    const held = (ip: string): boolean => fs.existsSync(path.join(ipamDir, `cri-pods-${tag}`, ip));
    const stale = (await criCall(client, rt.runPodSandbox, { config: podConfig('lost-stop') })).podSandboxId;
    const record = path.join(engine.root, 'pods', stale, 'pod.json');
    const readyRecord = fs.readFileSync(record);
    const staleIp = await addressOf(stale);
    await criCall(client, rt.stopPodSandbox, { podSandboxId: stale });
    assert.ok(!held(staleIp), 'the stop released its address');
    const other = (await criCall(client, rt.runPodSandbox, { config: podConfig('after-lost-stop') })).podSandboxId;
    const otherIp = await addressOf(other);
    assert.ok(held(otherIp), `host-local holds ${otherIp}`);

    // StopPodSandbox answers before its record is durable: a kill (or power cut) then leaves the
    // record as it was before the stop.
    await engine.kill9();
    fs.writeFileSync(record, readyRecord);
    await engine.startDaemon();
    client.close();
    client = criClient(engine.sock);
    const { status } = await criCall(client, rt.podSandboxStatus, { podSandboxId: stale });
    assert.equal(status?.state, PodSandboxState.SANDBOX_NOTREADY, 'its pause is gone');
    await criCall(client, rt.stopPodSandbox, { podSandboxId: stale });
    assert.equal(await addressOf(stale), '');
    assert.ok(held(otherIp), 'the second DEL left the other pod’s address');
    assert.equal(await addressOf(other), otherIp);
    await criCall(client, rt.removePodSandbox, { podSandboxId: stale });
    await criCall(client, rt.removePodSandbox, { podSandboxId: other });
    assert.deepEqual(
      fs.readdirSync(path.join(ipamDir, `cri-pods-${tag}`)).filter((f) => net.isIP(f) !== 0),
      [],
      'host-local holds no address',
    );
  });
});
