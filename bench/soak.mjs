// The soak of issue 15: each build's daemon (Node: dist/, Bun: dist-bun/) is started with its
// executable evicted from the page cache (bench/daemon.mjs), its idle RSS read 1 s later (no
// container yet), then CYCLES `isula run --rm` of the busybox container (`true`, no network)
// are made, the builds alternating cycle by cycle so that both see the same machine load; the
// daemons' VmRSS and RssAnon (their private part) are sampled along the way and read again
// 2 s after the last cycle. Also per build: the executable's size, the daemon's start time
// (spawn to socket), the wall time of a cycle and the daemon's CPU time per cycle.
// Usage: node bench/soak.mjs [--cycles 600] [--runtime node|bun|both] [--json FILE]
//        (default both: every build that is there)
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cgroupSnapshot, DIST, DIST_BUN, machine, median, ROOT, removeNewCgroups, startDaemon } from './daemon.mjs';

const USAGE = 'usage: node bench/soak.mjs [--cycles N] [--runtime node|bun|both] [--json FILE]';
let opts;
try {
  opts = parseArgs({ options: { cycles: { type: 'string', default: '600' }, runtime: { type: 'string', default: 'both' }, json: { type: 'string' } } }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const cycles = Number(opts.cycles);
if (!Number.isInteger(cycles) || cycles < 1 || !['node', 'bun', 'both'].includes(opts.runtime)) {
  console.error(USAGE);
  process.exit(2);
}
const BUILDS = { node: DIST, bun: DIST_BUN };
const wanted = (opts.runtime === 'both' ? ['node', 'bun'] : [opts.runtime]).filter((r) => fs.existsSync(path.join(BUILDS[r], 'isulad')));
if (!wanted.length) {
  console.error(`no isulad in ${opts.runtime === 'both' ? `${DIST} or ${DIST_BUN}` : BUILDS[opts.runtime]}: build first`);
  process.exit(1);
}

// A cycle that takes a minute is a hung daemon, not a measurement; 20 failures in a row end
// that build's soak (what it measured so far is kept, with the failures counted).
const CYCLE_TIMEOUT_MS = 60_000;
const MAX_FAILURES_IN_A_ROW = 20;
const SAMPLES = 6;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
const log = (msg) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (cmd, args) =>
  new Promise((resolve) => {
    const t0 = performance.now();
    execFile(cmd, args, { timeout: CYCLE_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _out, stderr) =>
      resolve({ ok: !err, ms: performance.now() - t0, err: err && (String(stderr).trim().split('\n')[0] || err.message) }),
    );
  });
/** The daemon's user + system CPU time so far, in ms. */
const cpuMs = (pid) => {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
};
const memory = (d) => ({ vmRssKb: d.rssKb(), rssAnonKb: d.anonKb() });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-soak-'));
const rootfs = path.join(work, 'bb');
const cgroupsBefore = cgroupSnapshot();
const builds = [];
try {
  execFileSync(path.join(ROOT, 'rootfs-samples', 'busybox-rootfs.sh'), [rootfs], { stdio: 'ignore' });
  // Started one after the other: their start times do not overlap.
  for (const runtime of wanted) {
    const daemon = await startDaemon({ dist: BUILDS[runtime], config: { 'cgroup-parent': '/isulad-bench' } });
    const b = { runtime, daemon, ms: [], failures: 0, inARow: 0, samples: [] };
    builds.push(b);
    b.version = execFileSync(daemon.isula, ['--version']).toString().split('\n')[0];
    await sleep(1000);
    b.idle = memory(daemon);
    b.cpu0 = cpuMs(daemon.pid);
  }
  const every = Math.ceil(cycles / SAMPLES);
  log(`${cycles} cycles of isula run --rm, ${builds.map((b) => b.runtime).join(' and ')} alternating`);
  for (let i = 1; i <= cycles; i++) {
    for (const b of builds.filter((x) => x.inARow < MAX_FAILURES_IN_A_ROW)) {
      const r = await run(b.daemon.isula, ['-H', b.daemon.host, 'run', '--rm', '--net', 'none', '--external-rootfs', rootfs, 'none', 'true']);
      b.ms.push(r.ms);
      if (r.ok) b.inARow = 0;
      else {
        b.failures++;
        b.inARow++;
        b.firstError ??= r.err;
        if (b.inARow === MAX_FAILURES_IN_A_ROW) log(`${b.runtime}: ${MAX_FAILURES_IN_A_ROW} failures in a row, its soak ends at cycle ${i}: ${b.firstError}`);
      }
      if (i % every === 0 || i === cycles) b.samples.push({ cycle: i, ...memory(b.daemon) });
    }
  }
  await sleep(2000);
  for (const b of builds) {
    b.after = memory(b.daemon);
    b.cpuMsPerCycle = (cpuMs(b.daemon.pid) - b.cpu0) / b.ms.length;
  }
} finally {
  for (const b of builds) await b.daemon.stop().catch((e) => log(`${b.runtime}: stopping the daemon: ${e.message}`));
  fs.rmSync(work, { recursive: true, force: true });
  removeNewCgroups(['isulad-bench', 'isulad-bench.monitor'], cgroupsBefore);
}

const mb = (kb) => (kb / 1024).toFixed(1);
const out = builds.map((b) => {
  const sorted = [...b.ms].sort((x, y) => x - y);
  return {
    runtime: b.runtime,
    version: b.version,
    executableBytes: fs.statSync(path.join(BUILDS[b.runtime], 'isulad')).size,
    startMs: b.daemon.startMs,
    cycles: b.ms.length,
    failures: b.failures,
    firstError: b.firstError,
    cycleMedianMs: median(b.ms),
    cycleP95Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))],
    daemonCpuMsPerCycle: b.cpuMsPerCycle,
    idle: b.idle,
    samples: b.samples,
    after: b.after,
  };
});
if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify({ machine: machine(), cycles, results: out }, null, 1)}\n`);
console.log(`machine: ${machine()}`);
console.log(`soak: ${cycles} x isula run --rm (alternating); memory MB VmRSS (RssAnon)`);
for (const r of out) {
  console.log(
    `[${r.runtime}] executable ${(r.executableBytes / 1e6).toFixed(1)} MB, start to socket ${r.startMs.toFixed(0)} ms; idle ${mb(r.idle.vmRssKb)} (${mb(r.idle.rssAnonKb)}); after ${r.cycles} cycles ${mb(r.after.vmRssKb)} (${mb(r.after.rssAnonKb)}); ${r.failures} failed; cycle median ${r.cycleMedianMs.toFixed(0)} ms, p95 ${r.cycleP95Ms.toFixed(0)} ms; daemon CPU ${r.daemonCpuMsPerCycle.toFixed(1)} ms a cycle`,
  );
  console.log(`[${r.runtime}] samples: ${r.samples.map((s) => `${s.cycle}: ${mb(s.vmRssKb)} (${mb(s.rssAnonKb)})`).join(', ')}`);
}
process.exit(out.some((r) => r.failures) ? 1 : 0);
