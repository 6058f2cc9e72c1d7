// Container lifecycle timings, ptcr style, for one or more engines, one after the other:
// - serial: N containers (default 10) all created, then all started, all stopped, all
//   removed; median and total per operation;
// - parallel: M containers (default 100), each phase launched at once; wall time of the
//   phase and how many succeeded;
// - `run -d` end to end, serially, N containers;
// - memory: the engine daemon's VmRSS fresh, idle (no container, after one warm-up
//   container run and removed) and with the M
//   parallel containers running, and the summed VmRSS (and PSS) of the per-container helper
//   processes (shims, monitors): every ancestor of a container's init up to the daemon or
//   pid 1.
// Every engine runs the same busybox root filesystem (rootfs-samples/busybox-rootfs.sh), or
// with --image REF the same image from a registry (bench/pull.mjs: pulled by each engine
// before measuring, unmeasured; a plain-HTTP registry on 127.0.0.1 is an insecure one), and
// the same command (`sleep 3600`), no network, and the same stop semantics: `stop -t 0`
// (SIGTERM, then SIGKILL at once: `sleep` as pid 1 ignores SIGTERM); raw LXC: `lxc-stop -k`.
// Engines:
//   isula      this repo's dist/isula against a private dist/isulad (external rootfs,
//              cgroup parent /isulad-bench)
//   isula-bun  the same with the Bun executables (dist-bun/isula and dist-bun/isulad, from
//              `npm run build -- --runtime bun`; ISULAD_BENCH_DIST_BUN to use a copy)
//   isula-api  the same daemon driven over gRPC from this process: the daemon's own share
//              (needs out/ from `npx tsc -p tsconfig.json`)
//   docker     the first `docker` on PATH (--docker-cli; Docker 28's static client here) against
//              a running dockerd (--docker-host); the rootfs as an image made by `docker
//              import`, removed at the end
//   docker-deb the same with Debian's docker.io client (--docker-deb-cli, /usr/bin/docker)
//   podman     podman on a private --root/--runroot/--tmpdir (cgroupfs, file events, runc),
//              the rootfs imported with `podman import`; all of it deleted at the end
//   lxc        raw lxc-* tools, the floor: mkdir + config write, `lxc-start -d`,
//              `lxc-stop -k`, rm -rf
// Usage: node bench/lifecycle.mjs [--engines isula,isula-bun,isula-api,lxc] [--serial 10] [--parallel 100]
//          [--json FILE] [--docker-host unix:///var/run/docker.sock] [--docker-cli PATH]
//          [--docker-deb-cli PATH] [--profile DIR] [--image REF]
// --json writes the results (an array, one object per engine) for bench/report.mjs.
// --profile DIR (isula, isula-api): the daemon runs from out/ under `node --cpu-prof`; its
//   profile goes to DIR/isulad.cpuprofile (summarised by bench/report.mjs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  cgroupSnapshot,
  cliOptions,
  DIST,
  DIST_BUN,
  mustRun,
  podmanRoot,
  ROOT,
  machine,
  median,
  removeNewCgroups,
  run,
  startDaemon,
  statusKb,
} from './daemon.mjs';

const USAGE = `usage: node bench/lifecycle.mjs [--engines isula,isula-bun,isula-api,lxc,docker,docker-deb,podman] [--serial N] [--parallel M]
         [--json FILE] [--docker-host unix://SOCK] [--docker-cli PATH] [--docker-deb-cli PATH] [--profile DIR]
         [--image REGISTRY/NAME:TAG]`;
const opts = cliOptions(
  {
    engines: { type: 'string', default: 'isula,isula-api,lxc' },
    serial: { type: 'string', default: '10' },
    parallel: { type: 'string', default: '100' },
    json: { type: 'string' },
    'docker-host': { type: 'string', default: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock' },
    'docker-cli': { type: 'string' },
    'docker-deb-cli': { type: 'string', default: '/usr/bin/docker' },
    profile: { type: 'string' },
    image: { type: 'string' },
  },
  USAGE,
);
const KNOWN = ['isula', 'isula-bun', 'isula-api', 'docker', 'docker-deb', 'podman', 'lxc'];
const engines = opts.engines.split(',').filter(Boolean);
const serialN = Number(opts.serial);
const parallelN = Number(opts.parallel);
const bad = engines.filter((e) => !KNOWN.includes(e));
if (opts.image && engines.includes('lxc')) {
  console.error(`--image: lxc has no images\n${USAGE}`);
  process.exit(2);
}
if (bad.length || !engines.length || !(serialN >= 1) || !(parallelN >= 1) || !Number.isInteger(serialN) || !Number.isInteger(parallelN)) {
  console.error(`${bad.length ? `unknown engine ${bad.join(',')}; ` : ''}want engines from ${KNOWN.join(',')} and positive counts\n${USAGE}`);
  process.exit(2);
}

const COMMAND = ['sleep', '3600'];
const log = (msg) => process.stderr.write(`[lifecycle ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const timed = async (fn) => {
  const t0 = performance.now();
  try {
    await fn();
    return { ok: true, ms: performance.now() - t0 };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, err };
  }
};

// --- /proc ----------------------------------------------------------------------------------
function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    return { comm: s.slice(s.indexOf('(') + 1, close), ppid: Number(s.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}
const rssKb = (pid) => statusKb(pid, 'VmRSS');
const pssKb = (pid) => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const pidsByComm = (names) =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => names.includes(procStat(pid)?.comm));
// This process and its ancestors: never counted as a container's helper.
const ourAncestors = new Set();
for (let p = process.pid; p > 1; p = procStat(p)?.ppid ?? 0) ourAncestors.add(p);

/** Helpers of containers whose init pids are given: their ancestors up to a daemon or pid 1. */
function helperProcesses(initPids, daemonPids) {
  const stopAt = new Set([0, 1, ...daemonPids, ...ourAncestors]);
  const helpers = new Map();
  for (const init of initPids) {
    for (let p = procStat(init)?.ppid ?? 0; !stopAt.has(p); p = procStat(p)?.ppid ?? 0) {
      const st = procStat(p);
      if (!st) break;
      helpers.set(p, st.comm);
    }
  }
  const byComm = {};
  let rss = 0;
  let pss = 0;
  for (const [pid, comm] of helpers) {
    const r = rssKb(pid);
    const q = pssKb(pid);
    rss += r;
    pss += q;
    byComm[comm] ??= { count: 0, rssKb: 0 };
    byComm[comm].count++;
    byComm[comm].rssKb += r;
  }
  return { processes: helpers.size, rssKb: rss, pssKb: pss, byComm };
}

// --- shared image ---------------------------------------------------------------------------
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-life-'));
const rootfs = path.join(work, 'bb');
execFileSync(path.join(ROOT, 'rootfs-samples', 'busybox-rootfs.sh'), [rootfs], { stdio: 'ignore' });
let tarball;
const rootfsTarball = () => {
  if (!tarball) {
    tarball = path.join(work, 'busybox.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
  }
  return tarball;
};
const IMAGE = 'isulad-bench/busybox:latest';
// --image: containers come from that image instead (its registry is the first part of REF).
const REGISTRY = opts.image?.split('/')[0];

// --- engines --------------------------------------------------------------------------------
// A factory sets the engine up (daemon, image) and returns create/start/stop/rm/runD(name),
// forceRemove(names), initPids(names), daemonPids(), version(), floor (the CLI's --version),
// teardown(), and cgroups: the top-level cgroup names it makes.

/** An engine driven by a docker-like CLI (isula, docker, podman). */
function cliEngine({ cmd, prefix, createArgs, rmForce, env }) {
  const c = (...a) => run(cmd, [...prefix, ...a], env);
  return {
    create: (n) => c('create', '--name', n, ...createArgs),
    start: (n) => c('start', n),
    stop: (n) => c('stop', '-t', '0', n),
    rm: (n) => c('rm', n),
    runD: (n) => c('run', '-d', '--name', n, ...createArgs),
    forceRemove: async (names) => {
      for (let i = 0; i < names.length; i += 50) await c(...rmForce, ...names.slice(i, i + 50));
    },
    initPids: async (names) => {
      const r = await c('inspect', '-f', '{{.State.Pid}}', ...names);
      return r.out
        .split('\n')
        .map(Number)
        .filter((p) => p > 0);
    },
  };
}

/** isula from dist (DIST: the Node build; DIST_BUN: the Bun build, never profiled). */
async function isulaEngine(dist = DIST) {
  const config = { 'cgroup-parent': '/isulad-bench', ...(REGISTRY && { 'insecure-registries': [REGISTRY] }) };
  const daemon = await startDaemon({ dist, config, profileDir: dist === DIST ? opts.profile : undefined });
  const isula = daemon.isula;
  const prefix = ['-H', daemon.host];
  if (opts.image)
    await mustRun(isula, [...prefix, 'pull', opts.image]).catch(async (err) => {
      await daemon.stop();
      throw err;
    });
  const e = cliEngine({
    cmd: isula,
    prefix,
    createArgs: ['--net', 'none', ...(opts.image ? [opts.image] : ['--external-rootfs', rootfs, 'none']), ...COMMAND],
    rmForce: ['rm', '-f'],
  });
  return {
    ...e,
    daemon,
    cgroups: ['isulad-bench', 'isulad-bench.monitor'],
    daemonPids: () => [daemon.pid],
    version: async () => (await mustRun(isula, ['--version'])).split('\n')[0],
    floor: [isula, ['--version']],
    teardown: () => daemon.stop(),
  };
}

// The same operations as gRPC calls from this one process: the daemon's own cost, without
// starting a Node client per operation.
async function isulaApiEngine() {
  const transportJs = path.join(ROOT, 'out', 'src', 'client', 'transport.js');
  if (!fs.existsSync(transportJs)) throw new Error(`${transportJs} missing: run npx tsc -p tsconfig.json`);
  const { Transport } = await import(transportJs);
  const base = await isulaEngine();
  const t = new Transport(base.daemon.host, base.daemon.host.slice('unix://'.length));
  const call = (method, req) => timed(() => t.unary(method, req));
  const createReq = (name) => ({
    name,
    image: opts.image ?? 'none',
    ...(!opts.image && { externalRootfs: rootfs }),
    cmd: COMMAND,
    env: [],
    labels: {},
    tty: false,
    openStdin: false,
    networkMode: 'none',
    systemContainer: false,
    readOnly: false,
    mounts: [],
    resources: {},
    capAdd: [],
    capDrop: [],
    privileged: false,
    devices: [],
    ulimits: [],
    logOpts: {},
    autoRemove: false,
  });
  return {
    ...base,
    floor: undefined,
    create: (n) => call('ContainerService/Create', createReq(n)),
    start: (n) => call('ContainerService/Start', { id: n }),
    stop: (n) => call('ContainerService/Stop', { id: n, timeout: 0 }),
    rm: (n) => call('ContainerService/Remove', { id: n, force: false }),
    runD: (n) =>
      timed(async () => {
        await t.unary('ContainerService/Create', createReq(n));
        await t.unary('ContainerService/Start', { id: n });
      }),
    forceRemove: async (names) => {
      for (const n of names) await call('ContainerService/Remove', { id: n, force: true });
    },
    teardown: async () => {
      t.close();
      await base.teardown();
    },
  };
}

/** The first executable NAME on PATH, as a shell finds it. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return name;
}

/** A Docker client (CMD: its path) against the daemon at --docker-host. */
async function dockerEngine(cmd) {
  const prefix = ['-H', opts['docker-host']];
  const server = await run(cmd, [...prefix, 'version', '-f', '{{.Server.Version}}']);
  if (!server.ok) throw new Error(`no Docker daemon at ${opts['docker-host']} (bench/compare.sh starts one): ${server.err.message}`);
  const image = opts.image ?? IMAGE;
  // dockerd treats 127.0.0.0/8 as insecure (plain HTTP) by default; compare.sh passes it too.
  await mustRun(cmd, [...prefix, ...(opts.image ? ['pull', '-q', image] : ['import', rootfsTarball(), image])]);
  const e = cliEngine({ cmd, prefix, createArgs: ['--network', 'none', image, ...COMMAND], rmForce: ['rm', '-f'] });
  return {
    ...e,
    cgroups: ['docker'],
    // dockerd and the containerd it talks to.
    daemonPids: () => pidsByComm(['dockerd', 'containerd']),
    floor: [cmd, ['--version']],
    // The report names the client by its path and `--version`, the daemon by its version.
    client: async () => ({ path: cmd, version: await mustRun(cmd, ['--version']), server: server.out }),
    version: async () => `Docker ${server.out} (client ${(await mustRun(cmd, ['--version'])).replace(/^Docker version /, '')})`,
    teardown: async () => {
      await run(cmd, [...prefix, 'rmi', '-f', image]);
    },
  };
}

async function podmanEngine() {
  const { prefix, ulimits, remove: removeStorage } = podmanRoot(path.join(work, 'podman'));
  const image = opts.image ?? IMAGE;
  try {
    await mustRun('podman', [...prefix, ...(opts.image ? ['pull', '-q', '--tls-verify=false', image] : ['import', rootfsTarball(), image])]);
  } catch (e) {
    await removeStorage();
    throw e;
  }
  const e = cliEngine({ cmd: 'podman', prefix, createArgs: ['--network', 'none', ...ulimits, image, ...COMMAND], rmForce: ['rm', '-f', '-t', '0'] });
  return {
    ...e,
    cgroups: ['libpod_parent', 'machine.slice'],
    daemonPids: () => [],
    floor: ['podman', ['--version']],
    version: async () => `${await mustRun('podman', ['--version'])}${ulimits.length ? ' (--ulimit nofile=1024 nproc=4096: no CAP_SYS_RESOURCE here)' : ''}`,
    teardown: removeStorage,
  };
}

function lxcEngine() {
  const lxcpath = path.join(work, 'lxc');
  fs.mkdirSync(lxcpath, { recursive: true });
  const config = (name) => `lxc.uts.name = ${name}
lxc.rootfs.path = dir:${rootfs}
lxc.net.0.type = empty
lxc.apparmor.profile = unconfined
lxc.autodev = 1
lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
lxc.tty.max = 0
lxc.pty.max = 16
lxc.console.path = none
lxc.cgroup.dir.container = lxcbench/${name}
lxc.cgroup.dir.monitor = lxcbench.monitor/${name}
`;
  const create = (n) =>
    timed(() => {
      fs.mkdirSync(path.join(lxcpath, n), { recursive: true });
      fs.writeFileSync(path.join(lxcpath, n, 'config'), config(n));
    });
  const start = (n) => run('lxc-start', ['-d', '-n', n, '-P', lxcpath, '--', ...COMMAND]);
  return {
    cgroups: ['lxcbench', 'lxcbench.monitor'],
    create,
    start,
    stop: (n) => run('lxc-stop', ['-k', '-n', n, '-P', lxcpath]),
    rm: (n) => timed(() => fs.rmSync(path.join(lxcpath, n), { recursive: true, force: true })),
    runD: (n) =>
      timed(async () => {
        await create(n);
        const r = await start(n);
        if (!r.ok) throw r.err;
      }),
    forceRemove: async (names) => {
      await Promise.all(names.map((n) => run('lxc-stop', ['-k', '-n', n, '-P', lxcpath])));
      for (const n of names) fs.rmSync(path.join(lxcpath, n), { recursive: true, force: true });
    },
    initPids: async (names) =>
      (await Promise.all(names.map((n) => run('lxc-info', ['-p', '-H', '-n', n, '-P', lxcpath])))).map((r) => Number(r.out)).filter((p) => p > 0),
    daemonPids: () => [],
    floor: ['lxc-start', ['--version']],
    version: async () => `LXC ${await mustRun('lxc-start', ['--version'])}`,
    teardown: async () => {
      const left = fs.readdirSync(lxcpath);
      if (left.length) await Promise.all(left.map((n) => run('lxc-stop', ['-k', '-n', n, '-P', lxcpath])));
    },
  };
}

const factories = {
  isula: () => isulaEngine(),
  'isula-bun': () => isulaEngine(DIST_BUN),
  'isula-api': isulaApiEngine,
  // The client a user installs today (Docker 28's static one here), and Debian's.
  docker: () => dockerEngine(opts['docker-cli'] ?? onPath('docker')),
  'docker-deb': () => dockerEngine(opts['docker-deb-cli']),
  podman: podmanEngine,
  lxc: lxcEngine,
};

// --- measuring --------------------------------------------------------------------------------
const OPS = ['create', 'start', 'stop', 'rm'];

async function phase(engine, op, names, parallel) {
  const t0 = performance.now();
  let rs;
  if (parallel) rs = await Promise.all(names.map((n) => engine[op](n)));
  else {
    rs = [];
    for (const n of names) rs.push(await engine[op](n));
  }
  const wall = performance.now() - t0;
  const failed = rs.filter((r) => !r.ok);
  if (failed.length) log(`${op}: ${failed.length} of ${names.length} failed, e.g. ${failed[0].err?.message?.split('\n')[0]}`);
  const times = rs.map((r) => r.ms);
  return { n: names.length, ok: rs.length - failed.length, median: median(times), min: Math.min(...times), max: Math.max(...times), total: wall, wall };
}

async function timesOf(n, fn) {
  const ms = [];
  for (let i = 0; i < n; i++) ms.push((await fn()).ms);
  return ms;
}

async function measureEngine(name) {
  const existed = cgroupSnapshot();
  const loadBefore = os.loadavg()[0];
  const engine = await factories[name]();
  const result = {
    engine: name,
    version: await engine.version(),
    ...(engine.client && { client: await engine.client() }),
    serialN,
    parallelN,
    command: COMMAND.join(' '),
    ...(opts.image && { image: opts.image }),
    startedAt: new Date().toISOString(),
    loadBefore,
  };
  // isula's daemon: spawn to socket (its executable evicted first) and the executable's size.
  if (engine.daemon)
    Object.assign(result, { daemonStartMs: engine.daemon.startMs, executableBytes: fs.statSync(path.join(path.dirname(engine.daemon.isula), 'isulad')).size });
  const removeAtEnd = new Set();
  const names = (tag, n) => Array.from({ length: n }, (_, i) => `ibench-${tag}${i}`);
  const daemonRss = () => engine.daemonPids().reduce((s, p) => s + rssKb(p), 0);
  // The daemon's private memory: VmRSS less the executable's and libraries' page-cache pages.
  const daemonAnon = () => engine.daemonPids().reduce((s, p) => s + statusKb(p, 'RssAnon'), 0);
  const daemonFreshKb = daemonRss();
  try {
    // Warm-up: one container run and removed (first-use costs: image layers, JIT, caches).
    await engine.forceRemove(['ibench-w0']);
    const w = await engine.runD('ibench-w0');
    if (!w.ok) throw new Error(`warm-up run -d failed: ${w.err?.message}`);
    await engine.forceRemove(['ibench-w0']);
    await sleep(500);
    // Idle: no container, after the warm-up; fresh: before it (just started, for isula).
    result.memory = {
      daemonFreshKb,
      daemonIdleKb: daemonRss(),
      daemonIdleAnonKb: daemonAnon(),
      daemonProcesses: engine.daemonPids().map((p) => procStat(p)?.comm),
    };

    log(`${name}: serial ${serialN}`);
    const sNames = names('s', serialN);
    for (const n of sNames) removeAtEnd.add(n);
    result.serial = {};
    for (const op of OPS) result.serial[op] = await phase(engine, op, sNames, false);

    log(`${name}: parallel ${parallelN}`);
    const pNames = names('p', parallelN);
    for (const n of pNames) removeAtEnd.add(n);
    result.parallel = {};
    for (const op of OPS) {
      result.parallel[op] = await phase(engine, op, pNames, true);
      if (op === 'start') {
        // Memory with the parallel containers running.
        const inits = await engine.initPids(pNames);
        const helpers = helperProcesses(inits, engine.daemonPids());
        const daemonLoaded = daemonRss();
        Object.assign(result.memory, {
          running: inits.length,
          daemonLoadedKb: daemonLoaded,
          helpers,
          perContainerKb: inits.length ? (helpers.rssKb + Math.max(0, daemonLoaded - result.memory.daemonIdleKb)) / inits.length : 0,
          helperPerContainerKb: inits.length ? helpers.rssKb / inits.length : 0,
        });
      }
    }

    log(`${name}: run -d ${serialN}`);
    const rNames = names('r', serialN);
    for (const n of rNames) removeAtEnd.add(n);
    result.run = await phase(engine, 'runD', rNames, false);
    await engine.forceRemove(rNames);
    await sleep(500);
    result.memory.daemonAfterKb = daemonRss();
    // What starting the client alone costs (`--version`: no daemon call), and Node alone.
    if (engine.floor) {
      result.clientStartMs = median(await timesOf(7, () => run(...engine.floor)));
      // The same, M at once: the floor of every parallel phase of a CLI engine.
      result.clientStartParallelMs = (await timed(() => Promise.all(Array.from({ length: parallelN }, () => run(...engine.floor))))).ms;
    }
    // Node alone, with this host's environment and without NODE_EXTRA_CA_CERTS (the isula
    // executable does not read it; plain Node parses that file at every start).
    result.nodeStartMs = median(await timesOf(7, () => run(process.execPath, ['-e', '0'])));
    const bare = { ...process.env };
    delete bare.NODE_EXTRA_CA_CERTS;
    result.nodeBareStartMs = median(await timesOf(7, () => run(process.execPath, ['-e', '0'], bare)));
    result.nodeBareStartParallelMs = (await timed(() => Promise.all(Array.from({ length: parallelN }, () => run(process.execPath, ['-e', '0'], bare))))).ms;
  } finally {
    await engine.forceRemove([...removeAtEnd]).catch(() => undefined);
    await engine.teardown();
    removeNewCgroups(engine.cgroups, existed);
  }
  result.loadAfter = os.loadavg()[0];
  return result;
}

const results = [];
let failed = false;
try {
  for (const name of engines) {
    try {
      results.push(await measureEngine(name));
    } catch (e) {
      failed = true;
      log(`${name}: ${e.message}`);
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
  // lxc-* tools leave a lock file per container under /run/lxc/lock/<lxcpath>.
  fs.rmSync(`/run/lxc/lock${work}`, { recursive: true, force: true });
}

const machineLine = machine();
if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify({ machine: machineLine, results }, null, 1)}\n`);
const f = (x) => (x === undefined ? '-' : x.toFixed(0));
const mb = (kb) => (kb === undefined ? '-' : (kb / 1024).toFixed(1));
console.log(`machine: ${machineLine}`);
console.log(`serial ${serialN}: median ms per container | parallel ${parallelN}: wall ms per phase (successes) | memory MB`);
console.log(
  '| engine | create | start | stop | rm | run -d | par. create | par. start | par. stop | par. rm | daemon idle | daemon loaded | helpers per container |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const p = (op) => `${f(r.parallel[op].wall)} (${r.parallel[op].ok})`;
  const m = r.memory;
  console.log(
    `| ${r.engine} | ${f(r.serial.create.median)} | ${f(r.serial.start.median)} | ${f(r.serial.stop.median)} | ${f(r.serial.rm.median)} | ${f(r.run.median)} | ${p('create')} | ${p('start')} | ${p('stop')} | ${p('rm')} | ${mb(m.daemonIdleKb)} | ${mb(m.daemonLoadedKb)} | ${mb(m.helperPerContainerKb)} |`,
  );
}
process.exit(failed ? 1 : 0);
