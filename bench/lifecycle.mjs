// Container lifecycle timings, ptcr style: N containers serially (all created, then all
// started, then all stopped, then all removed; median per operation) and M in parallel
// (each phase launched at once; wall time and successes). Engines: isula (this repo's
// dist/, private daemon, external rootfs), isula-api (the same daemon driven over gRPC from
// one process: the daemon's share) and lxc (raw lxc-* tools, the floor).
// Usage: node bench/lifecycle.mjs [--engines isula,lxc] [--serial 10] [--parallel 50]
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ISULA, ROOT, machine, median, startDaemon } from './daemon.mjs';

const argOf = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const engines = argOf('engines', 'isula,isula-api,lxc').split(',');
const serialN = Number(argOf('serial', 10));
const parallelN = Number(argOf('parallel', 50));

const run = (cmd, args) =>
  new Promise((resolve) => {
    const t0 = performance.now();
    execFile(cmd, args, { maxBuffer: 1 << 20 }, (err, stdout) => resolve({ ok: !err, ms: performance.now() - t0, out: stdout.toString().trim(), err }));
  });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-life-'));
const rootfs = path.join(work, 'bb');
execFileSync(path.join(ROOT, 'rootfs-samples', 'busybox-rootfs.sh'), [rootfs], { stdio: 'ignore' });

function isulaEngine(host) {
  const c = (...a) => run(ISULA, ['-H', host, ...a]);
  return {
    create: async (i) => {
      const r = await c('create', '--name', `bench${i}`, '--external-rootfs', rootfs, 'none', 'sleep', '1000');
      return r;
    },
    start: (i) => c('start', `bench${i}`),
    stop: (i) => c('stop', '-t', '0', `bench${i}`),
    rm: (i) => c('rm', `bench${i}`),
  };
}

// The same operations as gRPC calls from this one process: the daemon's own cost, without
// starting a Node client per operation (needs `npx tsc -p tsconfig.json`, which npm test runs).
async function isulaApiEngine(host) {
  const { Transport } = await import(path.join(ROOT, 'out', 'src', 'client', 'transport.js'));
  const t = new Transport(host, host.slice('unix://'.length));
  const call = async (method, req) => {
    const t0 = performance.now();
    try {
      await t.unary(method, req);
      return { ok: true, ms: performance.now() - t0 };
    } catch (err) {
      return { ok: false, ms: performance.now() - t0, err };
    }
  };
  const createReq = (i) => ({
    name: `api${i}`, image: 'none', externalRootfs: rootfs, cmd: ['sleep', '1000'], env: [], labels: {}, tty: false, openStdin: false,
    systemContainer: false, readOnly: false, mounts: [], resources: {}, capAdd: [], capDrop: [], privileged: false, devices: [], ulimits: [], logOpts: {}, autoRemove: false,
  });
  return {
    create: (i) => call('ContainerService/Create', createReq(i)),
    start: (i) => call('ContainerService/Start', { id: `api${i}` }),
    stop: (i) => call('ContainerService/Stop', { id: `api${i}`, timeout: 0 }),
    rm: (i) => call('ContainerService/Remove', { id: `api${i}`, force: false }),
    close: () => t.close(),
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
  const timed = async (fn) => {
    const t0 = performance.now();
    try {
      fn();
      return { ok: true, ms: performance.now() - t0 };
    } catch (err) {
      return { ok: false, ms: performance.now() - t0, err };
    }
  };
  return {
    create: (i) =>
      timed(() => {
        fs.mkdirSync(path.join(lxcpath, `bench${i}`), { recursive: true });
        fs.writeFileSync(path.join(lxcpath, `bench${i}`, 'config'), config(`bench${i}`));
      }),
    start: (i) => run('lxc-start', ['-d', '-n', `bench${i}`, '-P', lxcpath, '--', 'sleep', '1000']),
    stop: (i) => run('lxc-stop', ['-k', '-n', `bench${i}`, '-P', lxcpath]),
    rm: (i) => timed(() => fs.rmSync(path.join(lxcpath, `bench${i}`), { recursive: true, force: true })),
  };
}

async function measure(engine, n, parallel) {
  const result = {};
  for (const op of ['create', 'start', 'stop', 'rm']) {
    const t0 = performance.now();
    let rs;
    if (parallel) rs = await Promise.all(Array.from({ length: n }, (_, i) => engine[op](i)));
    else {
      rs = [];
      for (let i = 0; i < n; i++) rs.push(await engine[op](i));
    }
    const failed = rs.filter((r) => !r.ok);
    if (failed.length) console.error(`${op}: ${failed.length} failed, e.g. ${failed[0].err?.message?.split('\n')[0]}`);
    result[op] = { median: median(rs.map((r) => r.ms)), wall: performance.now() - t0, ok: rs.length - failed.length };
  }
  return result;
}

const rows = [];
for (const name of engines) {
  let daemon;
  let engine;
  if (name === 'isula') {
    daemon = await startDaemon();
    engine = isulaEngine(daemon.host);
  } else if (name === 'isula-api') {
    daemon = await startDaemon();
    engine = await isulaApiEngine(daemon.host);
  } else if (name === 'lxc') engine = lxcEngine();
  else throw new Error(`unknown engine ${name}`);
  const serial = await measure(engine, serialN, false);
  const parallel = await measure(engine, parallelN, true);
  rows.push({ name, serial, parallel, rss: daemon ? daemon.rssKb() : 0 });
  engine.close?.();
  await daemon?.stop();
}
fs.rmSync(work, { recursive: true, force: true });
// The raw LXC runs leave their (empty) parent cgroups behind: remove them.
for (const h of fs.readdirSync('/sys/fs/cgroup')) {
  for (const d of ['lxcbench', 'lxcbench.monitor']) {
    try {
      fs.rmdirSync(`/sys/fs/cgroup/${h}/${d}`);
    } catch {
      // absent, or not a hierarchy
    }
  }
}

const f = (x) => x.toFixed(0);
console.log(`machine: ${machine()}`);
console.log(`serial ${serialN}: median ms per container | parallel ${parallelN}: wall ms per phase (successes)`);
console.log('| engine | create | start | stop | rm | par. create | par. start | par. stop | par. rm |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const p = (op) => `${f(r.parallel[op].wall)} (${r.parallel[op].ok})`;
  console.log(`| ${r.name} | ${f(r.serial.create.median)} | ${f(r.serial.start.median)} | ${f(r.serial.stop.median)} | ${f(r.serial.rm.median)} | ${p('create')} | ${p('start')} | ${p('stop')} | ${p('rm')} |`);
}
