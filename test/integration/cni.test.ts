/**
 * The CNI library driven in-process against Debian's real plugins (/usr/lib/cni): a bridge
 * with a unique name, host-local addresses from a 10.x subnet of its own, portmap's iptables
 * rules and loopback, in network namespaces the test pins and removes. Needs root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EngineError } from '../../src/api/errors.js';
import { CniNetwork, createNetns, type PodNetworkRequest, removeNetns } from '../../src/network/index.js';
import { silentLogger } from '../../src/sys/log.js';
import { isMountPoint } from '../../src/sys/mount.js';

const isRoot = process.getuid?.() === 0;
const PLUGINS = '/usr/lib/cni';
const hasPlugins = ['bridge', 'host-local', 'portmap', 'loopback'].every((p) => fs.existsSync(path.join(PLUGINS, p)));
const hasIptables = ['/usr/sbin/iptables', '/sbin/iptables'].some((f) => fs.existsSync(f));
const skip =
  (!isRoot && 'needs root (netns, bridges, iptables)') ||
  (!hasPlugins && `needs containernetworking-plugins in ${PLUGINS}`) ||
  (!hasIptables && 'needs iptables');

// Unique per run: two runs (or helpers) on one machine get different bridges and subnets.
const tag = (process.pid % 50000).toString(36);
const BRIDGE = `cnit${tag}`;
const OCTET = 100 + (process.pid % 150);
const SUBNET = `10.${OCTET}.77.0/24`;
const HOST_PORT = 20000 + (process.pid % 20000);
const NET_NAME = `cnitest-${tag}`;

let tmp = '';
let confDir = '';
let cacheDir = '';
let stateDir = '';
let ipamDir = '';
let failBin = '';
const servers: ChildProcess[] = [];

function conflist(plugins: object[], cniVersion = '1.0.0'): string {
  return JSON.stringify({ cniVersion, name: NET_NAME, plugins });
}
const bridge = (): object => ({
  type: 'bridge',
  bridge: BRIDGE,
  isGateway: true,
  ipMasq: false,
  ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: ipamDir },
});
const portmap = { type: 'portmap', capabilities: { portMappings: true }, snat: true };
const loopback = { type: 'loopback' };

function writeConf(name: string, text: string): void {
  for (const f of fs.readdirSync(confDir)) fs.rmSync(path.join(confDir, f));
  fs.writeFileSync(path.join(confDir, name), text);
}

const network = (binDirs = [PLUGINS]): CniNetwork => new CniNetwork({ confDir, binDirs, cacheDir, log: silentLogger, pluginTimeoutMs: 20_000 });

const used = new Set<string>();
function request(id: string, netnsPath: string): PodNetworkRequest {
  used.add(id);
  return {
    podId: id,
    podName: `pod-${id}`,
    podNamespace: 'default',
    podUid: `uid-${id}`,
    netnsPath,
    ifName: 'eth0',
    portMappings: [{ containerPort: 8080, hostPort: HOST_PORT, protocol: 'tcp', hostIp: '' }],
  };
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNetns = (ns: string, args: string[]): string => sh('nsenter', [`--net=${ns}`, ...args]);
const ipamFiles = (): string[] => {
  const dir = path.join(ipamDir, NET_NAME);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
};
const natRulesOf = (id: string): string[] =>
  sh('iptables-save', ['-t', 'nat'])
    .split('\n')
    .filter((l) => l.includes(id));

/** A TCP server inside the netns answering "hello from the pod". */
function serveInNetns(ns: string, port: number): Promise<void> {
  const code = `require('net').createServer((s)=>s.end('hello from the pod')).listen(${port},'0.0.0.0',()=>console.log('ready'))`;
  const child = spawn('nsenter', [`--net=${ns}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`server in netns exited ${c}`)));
  });
}

function fetchFrom(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, timeout: 5000 });
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('timeout', () => {
      s.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    });
    s.on('error', reject);
  });
}

describe('CNI networking with the real plugins', { skip }, () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-test-'));
    confDir = path.join(tmp, 'net.d');
    cacheDir = path.join(tmp, 'graph', 'cni');
    stateDir = path.join(tmp, 'state');
    ipamDir = path.join(tmp, 'ipam');
    failBin = path.join(tmp, 'bin');
    for (const d of [confDir, failBin]) fs.mkdirSync(d, { recursive: true });
    // A plugin that fails its ADD the CNI way (a JSON error on stdout) and DELs fine.
    fs.writeFileSync(
      path.join(failBin, 'failer'),
      '#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","code":999,"msg":"injected failure","details":"in the middle"}\'; exit 1; fi\nexit 0\n',
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(failBin, 'chatty'), '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && exec head -c 3000000 /dev/zero\nexit 0\n', {
      mode: 0o755,
    });
    fs.writeFileSync(
      path.join(failBin, 'sleeper'),
      `#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && echo $$ >${failBin}/sleeper.pid && exec sleep 60\nexit 0\n`,
      { mode: 0o755 },
    );
    // Logs its turn (the `tag` of its conf) once it has its config, and how long it took.
    fs.writeFileSync(
      path.join(failBin, 'recorder'),
      `#!/bin/sh\ncfg=$(cat)\ncase "$cfg" in *'"tag":"a"'*) t=a ;; *) t=b ;; esac\necho "$CNI_COMMAND $t begin" >>${failBin}/turns\nsleep 0.2\necho "$CNI_COMMAND $t end" >>${failBin}/turns\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'\nexit 0\n`,
      { mode: 0o755 },
    );
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    // Pods a failed test left set up: DEL from their cached results (bridge, addresses, portmap's rules).
    for (const id of used)
      await network([failBin, PLUGINS])
        .tearDown(request(id, path.join(stateDir, 'netns', id)))
        .catch(() => undefined);
    // Whatever a failed test left: pinned namespaces, the bridge, portmap's rules for our ids.
    const nsDir = path.join(stateDir, 'netns');
    if (fs.existsSync(nsDir)) for (const f of fs.readdirSync(nsDir)) await removeNetns(path.join(nsDir, f));
    try {
      sh('ip', ['link', 'del', BRIDGE]);
    } catch {
      // not made, or gone
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('status: not ready without a config, ready with a valid one, not ready when a plugin is missing', () => {
    const cni = network();
    const empty = cni.status();
    assert.equal(empty.ready, false);
    assert.equal(empty.reason, 'NetworkPluginNotReady');
    assert.match(empty.message ?? '', /cni config uninitialized/);
    fs.writeFileSync(path.join(confDir, '00-bad.conflist'), '{"name": "x"}');
    writeConf('10-net.conflist', conflist([bridge(), portmap, loopback]));
    fs.writeFileSync(path.join(confDir, '00-bad.conflist'), '{"name": "x", "cniVersion": "1.0.0", "plugins": []}');
    assert.deepEqual(cni.status(), { ready: true });
    fs.rmSync(path.join(confDir, '00-bad.conflist'));
    writeConf('10-net.conflist', conflist([bridge(), { type: 'no-such-plugin' }]));
    const missing = cni.status();
    assert.equal(missing.ready, false);
    assert.match(missing.message ?? '', /no-such-plugin not found/);
  });

  it('creates a pinned netns with lo up, and removes it', async () => {
    const ns = await createNetns(`ns-${tag}`, stateDir);
    assert.equal(ns, path.join(stateDir, 'netns', `ns-${tag}`));
    assert.ok(isMountPoint(ns));
    assert.match(inNetns(ns, ['ip', '-o', 'link', 'show', 'lo']), /UP|LOWER_UP/);
    await assert.rejects(createNetns(`ns-${tag}`, stateDir), (e: EngineError) => e.kind === 'AlreadyExists');
    await assert.rejects(createNetns('../escape', stateDir), (e: EngineError) => e.kind === 'InvalidArgument');
    await removeNetns(ns);
    assert.ok(!fs.existsSync(ns));
    await removeNetns(ns); // twice is fine
  });

  it('ADD puts an address in the pod, reachable through the bridge and a hostPort on 127.0.0.1; DEL after a restart releases it', async () => {
    writeConf('10-net.conflist', conflist([bridge(), portmap, loopback]));
    const id = `pod1${tag}`;
    const ns = await createNetns(id, stateDir);
    const result = await network().setUp(request(id, ns));
    const ip = result.ips[0] ?? '';
    assert.match(ip, new RegExp(`^10\\.${OCTET}\\.77\\.\\d+$`));
    assert.ok(result.interfaces.some((i) => i.name === 'eth0' && i.sandbox === ns));
    assert.match(inNetns(ns, ['ip', '-o', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    assert.deepEqual(ipamFiles(), [ip]);
    assert.ok(fs.existsSync(path.join(cacheDir, 'results', `${id}-eth0.json`)));

    await serveInNetns(ns, 8080);
    assert.equal(await fetchFrom(ip, 8080), 'hello from the pod');
    assert.equal(await fetchFrom('127.0.0.1', HOST_PORT), 'hello from the pod');

    // A new instance knows only what the cache says: the daemon restarted.
    await network().tearDown(request(id, ns));
    assert.deepEqual(ipamFiles(), []);
    assert.deepEqual(natRulesOf(id), []);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', `${id}-eth0.json`)));
    assert.doesNotMatch(inNetns(ns, ['ip', '-o', 'link']), /eth0/);
    await assert.rejects(fetchFrom('127.0.0.1', HOST_PORT));
    for (const s of servers.splice(0)) s.kill('SIGKILL');
    // DEL again, and DEL with the netns gone: nothing to do, no error.
    await removeNetns(ns);
    await network().tearDown(request(id, ns));
  });

  it('DEL from the cache even when the conf dir has changed since the ADD', async () => {
    writeConf('10-net.conflist', conflist([bridge(), portmap, loopback], '0.4.0'));
    const id = `pod2${tag}`;
    const ns = await createNetns(id, stateDir);
    const cni = network();
    const result = await cni.setUp(request(id, ns));
    assert.equal(ipamFiles().length, 1);
    assert.ok(natRulesOf(id).length > 0, 'portmap made rules for the pod');
    await assert.rejects(cni.setUp(request(id, ns)), (e: EngineError) => e.kind === 'AlreadyExists');
    writeConf('10-other.conflist', conflist([{ type: 'no-such-plugin' }]));
    await network().tearDown(request(id, ns));
    assert.deepEqual(ipamFiles(), [], `address ${result.ips[0]} released`);
    assert.deepEqual(natRulesOf(id), []);
    await removeNetns(ns);
  });

  it('CHECK passes on a healthy pod and fails once its interface is gone', async () => {
    // Without portmap: its CHECK in plugins 1.1.1 looks for IPv6 rules an IPv4 pod never has
    // (containernetworking/plugins#819).
    writeConf('10-net.conflist', conflist([bridge(), loopback]));
    const id = `pod6${tag}`;
    const ns = await createNetns(id, stateDir);
    const cni = network();
    await assert.rejects(cni.check(request(id, ns)), (e: EngineError) => e.kind === 'NotFound');
    await cni.setUp(request(id, ns));
    await network().check(request(id, ns));
    inNetns(ns, ['ip', 'link', 'del', 'eth0']);
    await assert.rejects(network().check(request(id, ns)), /plugin type="bridge" failed \(check\)/);
    await cni.tearDown(request(id, ns));
    assert.deepEqual(ipamFiles(), []);
    await removeNetns(ns);
  });

  it('a plugin failing in the middle of the chain leaves nothing behind', async () => {
    writeConf('10-net.conflist', conflist([bridge(), { type: 'failer' }, portmap]));
    const id = `pod3${tag}`;
    const ns = await createNetns(id, stateDir);
    await assert.rejects(network([failBin, PLUGINS]).setUp(request(id, ns)), /injected failure; in the middle/);
    assert.deepEqual(ipamFiles(), []);
    assert.deepEqual(natRulesOf(id), []);
    assert.doesNotMatch(inNetns(ns, ['ip', '-o', 'link']), /eth0/);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', `${id}-eth0.json`)));
    await removeNetns(ns);
  });

  it('plugins act one after the other though DEL starts the next one early; one after a failed ADD never acts', async () => {
    const turns = path.join(failBin, 'turns');
    writeConf(
      '10-net.conflist',
      conflist([
        { type: 'recorder', tag: 'a' },
        { type: 'recorder', tag: 'b' },
      ]),
    );
    const id = `pod6${tag}`;
    const ns = await createNetns(id, stateDir);
    const cni = network([failBin, PLUGINS]);
    await cni.setUp(request(id, ns));
    await cni.tearDown(request(id, ns));
    assert.deepEqual(fs.readFileSync(turns, 'utf8').trim().split('\n'), [
      'ADD a begin',
      'ADD a end',
      'ADD b begin',
      'ADD b end',
      'DEL b begin',
      'DEL b end',
      'DEL a begin',
      'DEL a end',
    ]);
    fs.rmSync(turns);
    // The recorder after a failed ADD never acts and no process of it is left.
    writeConf('10-net.conflist', conflist([{ type: 'failer' }, { type: 'recorder', tag: 'b' }]));
    await assert.rejects(cni.setUp(request(id, ns)), /injected failure/);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!fs.existsSync(turns));
    const recorder = path.join(failBin, 'recorder');
    const alive = fs.readdirSync('/proc').filter((pid) => {
      try {
        return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(recorder);
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, []);
    await removeNetns(ns);
  });

  it('a plugin past its timeout is killed and what was added is deleted; a half-done ADD cached before a crash is deleted', async () => {
    writeConf('10-net.conflist', conflist([bridge(), { type: 'sleeper' }]));
    const id = `pod4${tag}`;
    const ns = await createNetns(id, stateDir);
    const quick = new CniNetwork({ confDir, binDirs: [failBin, PLUGINS], cacheDir, log: silentLogger, pluginTimeoutMs: 1000 });
    await assert.rejects(quick.setUp(request(id, ns)), /no answer in 1 s, killed/);
    assert.deepEqual(ipamFiles(), []);

    // The daemon killed mid-ADD: the bridge plugin ran, the cache still says result null.
    writeConf('10-net.conflist', conflist([bridge()]));
    await network().setUp(request(id, ns));
    const file = path.join(cacheDir, 'results', `${id}-eth0.json`);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...rec, result: null, list: { ...rec.list, plugins: [...rec.list.plugins, portmap] } }));
    await network().tearDown(request(id, ns));
    assert.deepEqual(ipamFiles(), []);
    assert.doesNotMatch(inNetns(ns, ['ip', '-o', 'link']), /eth0/);
    await removeNetns(ns);
  });

  it('a process SIGKILLed in the middle of an ADD leaves a record a restarted one DELs from', async () => {
    writeConf('10-net.conflist', conflist([bridge(), { type: 'sleeper' }, portmap]));
    const id = `pod8${tag}`;
    const ns = await createNetns(id, stateDir);
    // The "daemon": another process running the ADD, killed once the bridge plugin is done.
    const lib = new URL('../../src/network/index.js', import.meta.url).href;
    const code = `const { CniNetwork } = await import(${JSON.stringify(lib)});
      const cni = new CniNetwork({ confDir: ${JSON.stringify(confDir)}, binDirs: ${JSON.stringify([failBin, PLUGINS])}, cacheDir: ${JSON.stringify(cacheDir)}, log: { info() {}, warn() {}, error() {}, debug() {} } });
      await cni.setUp(${JSON.stringify(request(id, ns))});`;
    // The sleeper writes its pid here (exec keeps it); one left by an earlier test is not its.
    const sleeperPidFile = path.join(failBin, 'sleeper.pid');
    fs.rmSync(sleeperPidFile, { force: true });
    const sleeperPid = (): number => {
      try {
        return Number.parseInt(fs.readFileSync(sleeperPidFile, 'utf8'), 10) || 0;
      } catch {
        return 0;
      }
    };
    const daemon = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' });
    // Killed once the bridge plugin is done and the next one, the sleeper, runs.
    for (let i = 0; i < 200 && sleeperPid() === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(ipamFiles().length, 1, 'the bridge plugin ran');
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon.once('exit', r));
    // The orphaned plugin, by the pid it wrote, never anything else: a pid of 0 would be this
    // test's whole process group (an empty file read as one once killed a CI run).
    const orphan = sleeperPid();
    assert.ok(orphan > 1, 'the sleeper wrote its pid');
    try {
      if (fs.readFileSync(`/proc/${orphan}/cmdline`, 'utf8').includes('sleep')) process.kill(orphan, 'SIGKILL');
    } catch {
      // gone already
    }
    await network([failBin, PLUGINS]).tearDown(request(id, ns));
    assert.deepEqual(ipamFiles(), []);
    assert.doesNotMatch(inNetns(ns, ['ip', '-o', 'link']), /eth0/);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', `${id}-eth0.json`)));
    await removeNetns(ns);
  });

  it('a plugin printing more than 1 MiB is killed and its ADD fails cleanly', async () => {
    writeConf('10-net.conflist', conflist([bridge(), { type: 'chatty' }]));
    const id = `pod7${tag}`;
    const ns = await createNetns(id, stateDir);
    await assert.rejects(network([failBin, PLUGINS]).setUp(request(id, ns)), /output over the limit of 1 MiB, killed/);
    assert.deepEqual(ipamFiles(), []);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', `${id}-eth0.json`)));
    await removeNetns(ns);
  });

  it('refuses hostile requests before running any plugin', async () => {
    writeConf('10-net.conflist', conflist([bridge()]));
    const ns = path.join(stateDir, 'netns', 'none');
    const cni = network();
    await assert.rejects(cni.setUp({ ...request('../../x', ns) }), (e: EngineError) => e.kind === 'InvalidArgument');
    await assert.rejects(
      cni.setUp({ ...request(`pod5${tag}`, ns), podName: 'a;K8S_POD_NAMESPACE=kube-system' }),
      (e: EngineError) => e.kind === 'InvalidArgument',
    );
    await assert.rejects(
      cni.setUp({ ...request(`pod5${tag}`, ns), portMappings: [{ containerPort: 70000, hostPort: 1, protocol: 'tcp', hostIp: '' }] }),
      (e: EngineError) => e.kind === 'InvalidArgument',
    );
    await assert.rejects(
      cni.setUp({ ...request(`pod5${tag}`, ns), portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp', hostIp: '1.2.3.4; rm' }] }),
      (e: EngineError) => e.kind === 'InvalidArgument',
    );
    // A plugin named in the config but in no bin dir: refused before anything is cached.
    writeConf('10-net.conflist', conflist([bridge(), { type: 'no-such-plugin' }]));
    await assert.rejects(
      cni.setUp(request(`pod5${tag}`, ns)),
      (e: EngineError) => e.kind === 'FailedPrecondition' && /no-such-plugin not found/.test(e.message),
    );
    assert.deepEqual(ipamFiles(), []);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', `pod5${tag}-eth0.json`)));
  });
});
