// Issue 17's benchmark: CRI pod and container lifecycles, isula against containerd's CRI
// plugin, in one run on one machine.
// - One local registry (Debian's docker-registry on 127.0.0.1, plain HTTP) serves both
//   engines the pause image (rootfs-samples/pause-image.sh --push) and the container image
//   (the tests' busybox, test/helpers/oci-images.ts); both pull them through CRI before
//   anything is measured.
// - isula: a private daemon from dist/ (bench/daemon.mjs startDaemon: temp root, state,
//   socket) with enable-cri-v1, pod-sandbox-image and CNI. containerd: Debian's `containerd`
//   with its own config.toml (root, state, gRPC and ttrpc sockets, runc's root all under a
//   temp dir; sandbox_image the same pause; runc through io.containerd.runc.v2; the
//   registry as a plain-HTTP mirror).
// - CNI: one conflist in a private conf dir, read by both: bridge (a bridge and a /24 of its
//   own, not cni-podman0 nor docker0) + host-local (data dir under the temp dir) + portmap,
//   plugins from /usr/lib/cni.
// - One client for both: the project's generated runtime.v1 types over @grpc/grpc-js
//   (test/helpers/cri.ts), so that neither pays a CLI start. Each call is timed from the call
//   to its answer.
// - Per engine and round: SERIAL whole lifecycles one after the other (RunPodSandbox,
//   CreateContainer, StartContainer, StopContainer (timeout 0), RemoveContainer,
//   StopPodSandbox, RemovePodSandbox), then PARALLEL pods, each phase launched at once and
//   awaited before the next. Rounds alternate the engines (ABAB: round 1 in the given order,
//   round 2 reversed, ...); medians and p90 over the calls of all rounds.
// - Memory: after the rounds, per engine, VmRSS, RssAnon and RssFile of the daemon's own
//   process with one pod running (its pause only), then with one container in it; the
//   per-pod helpers (containerd-shim-runc-v2; isula's LXC monitors) are excluded and their
//   sum is shown beside.
// - A generated section of docs/benchmarks.md between the cri: markers (a rerun replaces it).
// Needs root, out/ (`npx tsc -p tsconfig.json`: the test helpers and the CRI types), dist/
// (`npm run build`), containerd, runc, containernetworking-plugins, skopeo, umoci, gcc:
// bench/compare.sh --cri [--install] runs this.
// Usage: node bench/cri.mjs [--engines isula,containerd] [--rounds 2] [--serial 20]
//          [--parallel 20] [--results DIR] [--md docs/benchmarks.md] [--command TEXT]
//          [--profile DIR] [--strace FILE]
// --strace FILE: isula's daemon traced (strace -f -e execve) during the serial lifecycles, the
// programs it started counted per call (the latencies of that run are strace's, not isula's).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cgroupSnapshot, cliOptions, machine, median, ROOT, removeNewCgroups, replaceSection, startDaemon, statusKb } from './daemon.mjs';

const USAGE = `usage: node bench/cri.mjs [--engines isula,containerd] [--rounds R] [--serial N] [--parallel M]
         [--results DIR] [--md FILE] [--command TEXT] [--profile DIR] [--strace FILE]`;
const opts = cliOptions(
  {
    engines: { type: 'string', default: 'isula,containerd' },
    rounds: { type: 'string', default: '2' },
    serial: { type: 'string', default: '20' },
    parallel: { type: 'string', default: '20' },
    results: { type: 'string' },
    md: { type: 'string', default: path.join(ROOT, 'docs', 'benchmarks.md') },
    command: { type: 'string', default: 'node bench/cri.mjs' },
    // isula's daemon from out/ under node --cpu-prof (bench/daemon.mjs), the profile kept here.
    profile: { type: 'string' },
    strace: { type: 'string' },
  },
  USAGE,
);
const KNOWN = ['isula', 'containerd'];
const engines = opts.engines.split(',').filter(Boolean);
const [rounds, nSerial, nParallel] = [opts.rounds, opts.serial, opts.parallel].map(Number);
if (!engines.length || engines.some((e) => !KNOWN.includes(e)) || ![rounds, nSerial, nParallel].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error(`want engines from ${KNOWN.join(',')} and positive counts\n${USAGE}`);
  process.exit(2);
}
const helpers = path.join(ROOT, 'out', 'test', 'helpers');
if (!fs.existsSync(path.join(helpers, 'cri.js'))) {
  console.error(`${helpers}/cri.js missing: run npx tsc -p tsconfig.json`);
  process.exit(1);
}
const { startRegistry } = await import(path.join(helpers, 'registry.js'));
const { busyboxImage, pushImage } = await import(path.join(helpers, 'oci-images.js'));
const { criCall, criClient } = await import(path.join(helpers, 'cri.js'));
const { RuntimeService, ImageService } = await import(path.join(ROOT, 'out', 'src', 'api', 'cri', 'gen', 'api_pb.js'));
const rt = RuntimeService.method;

const OPS = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox'];
const BEGIN = '<!-- cri:begin (generated by bench/compare.sh --cri via bench/cri.mjs; a rerun replaces this section) -->';
const END = '<!-- cri:end -->';
const CNI_BIN = '/usr/lib/cni';
const log = (msg) => process.stderr.write(`[cri ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const abab = (list, r) => (r % 2 ? [...list] : [...list].reverse());
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-cri-'));
const results = opts.results ?? path.join(work, 'results');
fs.mkdirSync(results, { recursive: true });

// Teardown steps, run in reverse at the end whatever happened (also on a signal).
const cleanups = [];
/** The serial calls' wall-clock spans (epoch seconds), for --strace. */
const spans = [];
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const f of cleanups.reverse()) await f().catch((e) => log(`cleanup: ${e.message}`));
}
// The temporary directory (and the results in it unless --results) last, after the report.
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

// --- the network both engines use -------------------------------------------------------------
/** A bridge name and a 10.x.y.0/24 that no interface or route of the host uses. */
function freeNetwork() {
  const links = execFileSync('ip', ['-o', 'link']).toString();
  const routes = execFileSync('ip', ['-4', 'route']).toString() + execFileSync('ip', ['-4', '-o', 'addr']).toString();
  for (let i = 0; i < 200; i++) {
    const n = (process.pid + i) % 200;
    const bridge = `crib${n}`;
    const prefix = `10.${40 + n}.17`;
    if (!links.includes(` ${bridge}:`) && !routes.includes(`${prefix}.`)) return { bridge, subnet: `${prefix}.0/24` };
  }
  throw new Error('no free bridge name and subnet');
}

function writeCniConfig(dir, { bridge, subnet }) {
  fs.mkdirSync(dir, { recursive: true });
  const conf = {
    cniVersion: '1.0.0',
    name: 'crib',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: path.join(work, 'ipam') } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  fs.writeFileSync(path.join(dir, '10-crib.conflist'), JSON.stringify(conf, null, 1));
}

// --- engines: each returns { name, sock, version, pid, helperPids(), stop() } --------------------
async function startIsula(ctx) {
  const daemon = await startDaemon({
    profileDir: opts.profile,
    config: {
      'enable-cri-v1': true,
      'pod-sandbox-image': ctx.pause,
      'insecure-registries': [ctx.registry],
      'network-plugin': 'cni',
      'cni-conf-dir': ctx.cniConf,
      'cni-bin-dir': CNI_BIN,
      'websocket-server-listening-port': await freePort(),
    },
  });
  const version = execFileSync(daemon.isula, ['--version']).toString().split('\n')[0];
  return {
    name: 'isula',
    sock: daemon.host.replace(/^unix:\/\//, ''),
    version,
    pid: daemon.pid,
    // The per-container processes (LXC's monitor and the engine's shim) run under the daemon.
    helperPids: () => descendants(daemon.pid),
    stop: () => daemon.stop(),
  };
}

async function startContainerd(ctx) {
  const dir = path.join(work, 'containerd');
  fs.mkdirSync(dir, { recursive: true });
  const sock = path.join(dir, 'containerd.sock');
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const toml = `version = 2
root = "${dir}/root"
state = "${dir}/state"
# Off: writes outside root/state (/opt/containerd) and back-ends this host lacks.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  level = "warn"
# The legacy runtime the task service still loads; its runc root private too.
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "${dir}/runc-v1"
[${cri}]
  sandbox_image = "${ctx.pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "${await freePort()}"
  enable_selinux = false
  # This host withholds CAP_SYS_RESOURCE: runc may not lower oom_score_adj below containerd's (pause: -998).
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        Root = "${dir}/runc"
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${ctx.cniConf}"
    max_conf_num = 1
  [${cri}.registry]
    config_path = "${dir}/certs.d"
`;
  // The local registry speaks plain HTTP.
  fs.mkdirSync(path.join(dir, 'certs.d', ctx.registry), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'certs.d', ctx.registry, 'hosts.toml'),
    `server = "http://${ctx.registry}"\n[host."http://${ctx.registry}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  fs.writeFileSync(path.join(dir, 'config.toml'), toml);
  const out = fs.openSync(path.join(dir, 'containerd.log'), 'a');
  const child = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const t0 = performance.now();
  let up = false;
  while (!up && performance.now() - t0 < 30_000 && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 20));
    if (!fs.existsSync(sock)) continue;
    const c = criClient(sock);
    up = await criCall(c, rt.version, {}, { deadline: new Date(Date.now() + 1000) }).then(
      () => true,
      () => false,
    );
    c.close();
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // Shims of pods a failed run left (each its own session, reparented to init).
    for (const pid of shimsOf(sock)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m?.startsWith(`${dir}/`))
      .reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!up) {
    const tail = fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
    await stop();
    throw new Error(`containerd did not answer CRI on ${sock} within 30 s; its log ends:\n${tail}`);
  }
  return {
    name: 'containerd',
    sock,
    version: `${execFileSync('containerd', ['--version']).toString().trim()}; ${execFileSync('runc', ['--version']).toString().split('\n')[0]}`,
    pid: child.pid,
    helperPids: () => shimsOf(sock),
    stop,
  };
}

/** The pids of the containerd-shim-runc-v2 processes serving the containerd at SOCK. */
function shimsOf(sock) {
  const pids = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(sock)) pids.push(Number(p));
    } catch {}
  }
  return pids;
}

/** All descendants of PID (from /proc/<pid>/task/*\/children). */
function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let kids = [];
    try {
      for (const t of fs.readdirSync(`/proc/${p}/task`))
        kids.push(...fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      kids = [];
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

// --- --strace: the programs isula's daemon starts per call --------------------------------------
let tracer;
let tracedPid;
async function startStrace(pid) {
  tracedPid = pid;
  tracer = spawn('strace', ['-f', '-qq', '-ttt', '-e', 'trace=execve,clone,clone3,fork,vfork', '-e', 'signal=none', '-o', opts.strace, '-p', String(pid)], {
    stdio: 'ignore',
  });
  cleanups.push(() => stopStrace());
  await new Promise((r) => setTimeout(r, 500));
}
async function stopStrace() {
  if (!tracer || tracer.exitCode !== null || tracer.signalCode !== null) return;
  const done = new Promise((r) => tracer.once('exit', r));
  tracer.kill('SIGINT');
  await done;
  // "PID 1700000000.123456 execve("/usr/bin/x", ["x", ...], ...) = 0": a program started.
  // Forks by the daemon's main thread are the ones that block its event loop ("direct").
  const execs = [];
  const parent = new Map();
  for (const line of fs.readFileSync(opts.strace, 'utf8').split('\n')) {
    const c = /^(\d+)\s+\S+ (?:clone3?|v?fork)\(.*= (\d+)$/.exec(line);
    if (c) parent.set(Number(c[2]), Number(c[1]));
    // A failed try of a PATH search ends "= -1 ENOENT (…)"; an interleaved one "<unfinished ...>".
    const m = /^\d+\s+(\d+\.\d+) execve\("([^"]+)", \[(.*?)\]/.exec(line);
    if (/= -1 /.test(line)) continue;
    if (m) execs.push({ t: Number(m[1]), pid: Number(line.split(/\s/)[0]), prog: path.basename(m[2]), argv: m[3] });
  }
  const lines = [];
  for (const op of OPS) {
    const mine = spans.filter((x) => x.op === op);
    const names = {};
    let [n, direct] = [0, 0];
    for (const x of execs) {
      if (!mine.some((sp) => x.t >= sp.from && x.t <= sp.to)) continue;
      const own = parent.get(x.pid) === tracedPid;
      n++;
      if (own) direct++;
      const k = own ? `${x.prog}*` : x.prog;
      names[k] = (names[k] ?? 0) + 1;
    }
    const per = (k) => (k / Math.max(1, mine.length)).toFixed(1);
    lines.push(
      `${op}: ${per(n)} programs per call, ${per(direct)} forked by the daemon (*): ${Object.entries(names)
        .map(([k, v]) => `${k} ${per(v)}`)
        .join(', ')}`,
    );
  }
  fs.writeFileSync(`${opts.strace}.summary`, `${lines.join('\n')}\n`);
  for (const l of lines) log(l);
}

// --- one engine's lifecycles ------------------------------------------------------------------
/** The seven calls of a pod's lifecycle, each on a state { config, podSandboxId, containerId }. */
function lifecycle(client, ctx, engine) {
  const logs = path.join(work, 'logs', engine);
  let seq = 0;
  const ctrConfig = {
    metadata: { name: 'app', attempt: 0 },
    image: { image: ctx.image },
    command: ['sleep', '3600'],
    logPath: 'app.log',
    linux: {},
  };
  const newPod = () => {
    const name = `p${engine.slice(0, 3)}${seq++}`;
    const config = { metadata: { name, uid: `uid-${name}`, namespace: 'bench', attempt: 0 }, hostname: name, logDirectory: path.join(logs, name), linux: {} };
    fs.mkdirSync(config.logDirectory, { recursive: true });
    return { config };
  };
  const steps = {
    RunPodSandbox: async (s) => {
      s.podSandboxId = (await criCall(client, rt.runPodSandbox, { config: s.config })).podSandboxId;
    },
    CreateContainer: async (s) => {
      s.containerId = (await criCall(client, rt.createContainer, { podSandboxId: s.podSandboxId, config: ctrConfig, sandboxConfig: s.config })).containerId;
    },
    StartContainer: (s) => criCall(client, rt.startContainer, { containerId: s.containerId }),
    StopContainer: (s) => criCall(client, rt.stopContainer, { containerId: s.containerId, timeout: 0n }),
    RemoveContainer: (s) => criCall(client, rt.removeContainer, { containerId: s.containerId }),
    StopPodSandbox: (s) => criCall(client, rt.stopPodSandbox, { podSandboxId: s.podSandboxId }),
    RemovePodSandbox: (s) => criCall(client, rt.removePodSandbox, { podSandboxId: s.podSandboxId }),
  };
  return { newPod, steps };
}

const why = (e) => (e.details ?? e.message).split('\n')[0];

async function measureRound(eng, ctx, round) {
  const client = criClient(eng.sock);
  const { newPod, steps } = lifecycle(client, ctx, eng.name);
  const serial = Object.fromEntries(OPS.map((o) => [o, []]));
  const parallel = Object.fromEntries(OPS.map((o) => [o, []]));
  const walls = Object.fromEntries(OPS.map((o) => [o, []]));
  const failures = [];
  const timed = async (samples, op, s) => {
    const t = performance.now();
    const from = Date.now() / 1000;
    await steps[op](s);
    samples[op].push(performance.now() - t);
    if (samples === serial) spans.push({ op, from, to: Date.now() / 1000 });
  };
  try {
    // Serial: one pod's whole lifecycle after the other's.
    for (let i = 0; i < nSerial; i++) {
      const s = newPod();
      try {
        for (const op of OPS) await timed(serial, op, s);
      } catch (e) {
        failures.push(`serial: ${why(e)}`);
      }
    }
    // Parallel: each call for all pods at once, the next call once all have answered; a pod
    // whose call failed drops out.
    let alive = Array.from({ length: nParallel }, newPod);
    for (const op of OPS) {
      const t = performance.now();
      const settled = await Promise.allSettled(alive.map((s) => timed(parallel, op, s)));
      walls[op].push(performance.now() - t);
      for (const x of settled) if (x.status === 'rejected') failures.push(`parallel ${op}: ${why(x.reason)}`);
      alive = alive.filter((_, i) => settled[i].status === 'fulfilled');
    }
    if (failures.length) log(`round ${round}: ${eng.name}: ${failures.length} calls failed (${failures.at(-1)})`);
  } finally {
    client.close();
  }
  await clearPods(eng);
  return { round, serial, parallel, walls, failures };
}

/** Removes whatever pods are left (after a failure), unmeasured. */
async function clearPods(eng) {
  const client = criClient(eng.sock);
  try {
    const { items } = await criCall(client, rt.listPodSandbox, {});
    for (const p of items) {
      await criCall(client, rt.stopPodSandbox, { podSandboxId: p.id }).catch(() => undefined);
      await criCall(client, rt.removePodSandbox, { podSandboxId: p.id }).catch((e) => log(`${eng.name}: remove pod ${p.id}: ${e.details ?? e.message}`));
    }
  } finally {
    client.close();
  }
}

const kbOf = (pids, key) => pids.reduce((s, p) => s + statusKb(p, key), 0);
const memOf = (eng) => {
  const helpers = eng.helperPids();
  return {
    vmRss: statusKb(eng.pid, 'VmRSS'),
    rssAnon: statusKb(eng.pid, 'RssAnon'),
    rssFile: statusKb(eng.pid, 'RssFile'),
    helpers: helpers.length,
    helpersRss: kbOf(helpers, 'VmRSS'),
  };
};

/** The daemon's memory with one pod (pause only), then one container in it; 2 s settle each. */
async function memory(eng, ctx) {
  // isula's layer-unpacking thread lives 30 s after a pull: read the daemon as it settles, without it.
  const settled = ctx.lastPull + 35_000 - Date.now();
  if (settled > 0) await new Promise((r) => setTimeout(r, settled));
  const client = criClient(eng.sock);
  const settle = () => new Promise((r) => setTimeout(r, 2000));
  try {
    const name = `mem${eng.name.slice(0, 3)}`;
    const config = {
      metadata: { name, uid: `uid-${name}`, namespace: 'bench', attempt: 0 },
      hostname: name,
      logDirectory: path.join(work, 'logs', name),
      linux: {},
    };
    fs.mkdirSync(config.logDirectory, { recursive: true });
    const { podSandboxId } = await criCall(client, rt.runPodSandbox, { config });
    await settle();
    const pod = memOf(eng);
    const { containerId } = await criCall(client, rt.createContainer, {
      podSandboxId,
      config: { metadata: { name: 'app', attempt: 0 }, image: { image: ctx.image }, command: ['sleep', '3600'], logPath: 'app.log', linux: {} },
      sandboxConfig: config,
    });
    await criCall(client, rt.startContainer, { containerId });
    await settle();
    const withContainer = memOf(eng);
    await criCall(client, rt.stopContainer, { containerId, timeout: 0n });
    await criCall(client, rt.removeContainer, { containerId });
    await criCall(client, rt.stopPodSandbox, { podSandboxId });
    await criCall(client, rt.removePodSandbox, { podSandboxId });
    return { pod, withContainer };
  } finally {
    client.close();
  }
}

// --- the run ----------------------------------------------------------------------------------
const t0 = Date.now();
const started = {};
const byEngine = Object.fromEntries(engines.map((e) => [e, []]));
const mem = {};
let network;
try {
  const cgroupsBefore = cgroupSnapshot();
  // containerd pins pod namespaces under /var/run/netns, made if missing.
  const netnsDirExisted = fs.existsSync('/var/run/netns');
  cleanups.push(async () => {
    // Only when empty: another tool may have pinned a namespace there meanwhile.
    if (!netnsDirExisted && fs.existsSync('/var/run/netns')) fs.rmdirSync('/var/run/netns');
  });
  cleanups.push(async () => removeNewCgroups(['k8s.io', 'isulad', 'lxc.payload', 'lxc.monitor', 'kubepods'], cgroupsBefore));
  const reg = await startRegistry();
  cleanups.push(() => reg.stop());
  log(`registry at ${reg.url}; pushing the pause and busybox images`);
  const pause = `${reg.host}/pause:3.9`;
  execFileSync(path.join(ROOT, 'rootfs-samples', 'pause-image.sh'), ['--push', pause, '--insecure'], { stdio: ['ignore', 'ignore', 'inherit'] });
  pushImage(busyboxImage(), reg, 'busybox:latest');
  network = freeNetwork();
  cleanups.push(async () => spawnSync('ip', ['link', 'del', network.bridge], { stdio: 'ignore' }));
  const ctx = { registry: reg.host, pause, image: `${reg.host}/busybox:latest`, cniConf: path.join(work, 'net.d') };
  writeCniConfig(ctx.cniConf, network);

  for (const e of engines) {
    const eng = await (e === 'isula' ? startIsula(ctx) : startContainerd(ctx));
    started[e] = eng;
    cleanups.push(async () => {
      await clearPods(eng).catch(() => undefined);
      await eng.stop();
    });
    log(`${e}: ${eng.version} (pid ${eng.pid}, ${eng.sock})`);
    // Unmeasured: both images pulled through CRI, and one lifecycle as a warm-up.
    const client = criClient(eng.sock);
    for (const image of [pause, ctx.image]) await criCall(client, ImageService.method.pullImage, { image: { image } });
    ctx.lastPull = Date.now();
    const status = await criCall(client, rt.status, {});
    const notReady = status.status?.conditions.filter((c) => !c.status).map((c) => `${c.type}: ${c.reason} ${c.message}`);
    client.close();
    if (notReady?.length) throw new Error(`${e} is not ready: ${notReady.join('; ')}`);
    const warm = criClient(eng.sock);
    const { newPod, steps } = lifecycle(warm, ctx, `${e}warm`);
    const s = newPod();
    for (const op of OPS) await steps[op](s);
    warm.close();
    if (e === 'isula' && opts.strace) await startStrace(eng.pid);
  }
  for (let r = 1; r <= rounds; r++) {
    for (const e of abab(engines, r)) {
      log(`round ${r}/${rounds}: ${e} (serial ${nSerial}, parallel ${nParallel})`);
      const res = await measureRound(started[e], ctx, r);
      byEngine[e].push(res);
      log(`round ${r}/${rounds}: ${e}: ${OPS.map((o) => `${o} ${median(res.serial[o]).toFixed(0)}`).join(', ')} ms (serial medians)`);
    }
  }
  if (opts.strace) await stopStrace();
  for (const e of engines) {
    mem[e] = await memory(started[e], ctx);
    log(`${e}: daemon VmRSS ${(mem[e].pod.vmRss / 1024).toFixed(1)} MiB with one pod`);
  }
} finally {
  await cleanup();
}
const wallMin = (Date.now() - t0) / 60000;
const versions = Object.fromEntries(engines.map((e) => [e, started[e]?.version]));
fs.writeFileSync(path.join(results, 'cri.json'), `${JSON.stringify({ machine: machine(), versions, network, byEngine, mem }, null, 1)}\n`);

// --- report -----------------------------------------------------------------------------------
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : Number.NaN;
};
const all = (e, kind, op) => byEngine[e].flatMap((r) => r[kind][op]);
const msf = (x) => (Number.isNaN(x) ? '–' : x >= 10 ? x.toFixed(0) : x.toFixed(1));
const cell = (xs) => (xs.length ? `${msf(median(xs))} / ${msf(pct(xs, 90))}` : '–');
const mib = (kb) => (kb / 1024).toFixed(1);

const md = [BEGIN, `### Latest run: ${new Date().toISOString().slice(0, 10)}`, ''];
md.push(
  `\`${opts.command}\` — run of ${new Date(t0).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${rounds} round(s) in ABAB order, ${wallMin.toFixed(0)} min. Machine: ${machine()}.`,
  '',
  '| engine | version |',
  '|---|---|',
);
for (const e of engines) md.push(`| ${e} | ${versions[e] ?? '–'} |`);
md.push(
  '',
  `Per engine and round: ${nSerial} pod lifecycles one after the other (serial), then ${nParallel} at once, each phase started together and awaited before the next (parallel). ` +
    'A lifecycle: RunPodSandbox (CNI bridge + host-local + portmap, the same conflist for both), CreateContainer and StartContainer of busybox `sleep 3600`, StopContainer (timeout 0), RemoveContainer, StopPodSandbox, RemovePodSandbox. ' +
    "One grpc-js client (the project's generated runtime.v1 types) for both engines; each call timed from the call to its answer. Milliseconds, median / p90 over all rounds; parallel: the per-call latencies and the phase's wall time.",
  '',
  `| operation | ${engines.map((e) => `${e} serial`).join(' | ')} | ${engines.map((e) => `${e} parallel`).join(' | ')} | ${engines.map((e) => `${e} par. wall`).join(' | ')} |`,
  `|---|${engines.map(() => '---|---|---|').join('')}`,
);
for (const op of OPS)
  md.push(
    `| ${op} | ${engines.map((e) => cell(all(e, 'serial', op))).join(' | ')} | ${engines.map((e) => cell(all(e, 'parallel', op))).join(' | ')} | ${engines
      .map((e) => msf(median(all(e, 'walls', op))))
      .join(' | ')} |`,
  );
md.push('');
if (engines.includes('isula') && engines.includes('containerd')) {
  md.push(
    "#### Target of issue 17: every operation at most 0.5 × containerd's median",
    '',
    '| operation | serial isula ÷ containerd | parallel isula ÷ containerd |',
    '|---|---|---|',
  );
  const verdict = (kind, op) => {
    const r = median(all('isula', kind, op)) / median(all('containerd', kind, op));
    return Number.isNaN(r) ? '–' : `${r.toFixed(2)} ${r <= 0.5 ? 'met' : '**missed**'}`;
  };
  for (const op of OPS) md.push(`| ${op} | ${verdict('serial', op)} | ${verdict('parallel', op)} |`);
  md.push('');
}
md.push(
  '#### Daemon memory, one pod running (MiB)',
  '',
  "The daemon's own process (/proc/PID/status) after all the rounds' lifecycles (a freshly started daemon with one pod: `bench/daemon-mem.mjs`, its own section), at least 35 s after the last image pull (isula's unpacking thread has ended), 2 s after RunPodSandbox, then 2 s after a busybox container started in the pod. Per-pod helpers excluded (containerd: its containerd-shim-runc-v2 processes; isula: the daemon's child processes, LXC's monitors), their summed VmRSS shown beside. Target of issue 17: at most 45 MB.",
  '',
  '| engine | VmRSS | RssAnon | RssFile | with a container: VmRSS | helpers (VmRSS sum) |',
  '|---|---|---|---|---|---|',
);
for (const e of engines) {
  const m = mem[e];
  if (!m) md.push(`| ${e} | failed | | | | |`);
  else
    md.push(
      `| ${e} | ${mib(m.pod.vmRss)} | ${mib(m.pod.rssAnon)} | ${mib(m.pod.rssFile)} | ${mib(m.withContainer.vmRss)} | ${m.withContainer.helpers} processes, ${mib(m.withContainer.helpersRss)} |`,
    );
}
const failures = engines.flatMap((e) => byEngine[e].flatMap((r) => r.failures.map((f) => `${e} round ${r.round}: ${f}`)));
md.push('', failures.length ? `Failures: ${failures.length} (${[...new Set(failures)].slice(0, 5).join('; ')}).` : 'No call failed.', END);
const section = md.join('\n');
replaceSection(opts.md, section, BEGIN, END);
console.log(section);
log(`wrote ${opts.md}`);
process.exit(failures.length ? 1 : 0);
