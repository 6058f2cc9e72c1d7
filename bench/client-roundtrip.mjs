// `isula version` against a running daemon versus `node -e 0`: alternating runs, medians,
// and the median of the paired ratios; plus the daemon's start time and idle RSS. With the
// Bun build present (dist-bun/, `npm run build -- --runtime bun`) both executables are
// measured in the same run, each client against its own daemon, and Bun ÷ Node is printed.
// Prints numbers only; --json FILE also writes them for bench/report.mjs (bench/compare.sh).
// Usage: node bench/client-roundtrip.mjs [RUNS] [--runtime node|bun|both] [--json FILE]
//        (default both: every build that is there; needs a built dist/ or dist-bun/)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DIST, DIST_BUN, machine, median, startDaemon } from './daemon.mjs';

const { values: opts, positionals } = parseArgs({
  options: { runtime: { type: 'string', default: 'both' }, json: { type: 'string' } },
  allowPositionals: true,
});
const runs = Number(positionals[0] ?? 30);
const BUILDS = { node: DIST, bun: DIST_BUN };
if (!(runs >= 1) || !['node', 'bun', 'both'].includes(opts.runtime)) {
  console.error('usage: node bench/client-roundtrip.mjs [RUNS] [--runtime node|bun|both] [--json FILE]');
  process.exit(2);
}
const wanted = (opts.runtime === 'both' ? ['node', 'bun'] : [opts.runtime]).filter((r) => fs.existsSync(path.join(BUILDS[r], 'isula')));
if (!wanted.length) {
  console.error(`no isula in ${opts.runtime === 'both' ? `${DIST} or ${DIST_BUN}` : BUILDS[opts.runtime]}: build first`);
  process.exit(1);
}

const time = (cmd, args) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
};
// One daemon per build, started one after the other (their start times do not overlap).
const builds = [];
for (const runtime of wanted) builds.push({ runtime, daemon: await startDaemon({ dist: BUILDS[runtime] }), ms: [], ratios: [] });
const call = (b) => time(b.daemon.isula, ['-H', b.daemon.host, 'version']);
for (let i = 0; i < 3; i++) {
  time(process.execPath, ['-e', '0']);
  for (const b of builds) call(b);
}
const node = [];
const bunOverNode = [];
for (let i = 0; i < runs; i++) {
  const a = time(process.execPath, ['-e', '0']);
  node.push(a);
  for (const b of builds) {
    const x = call(b);
    b.ms.push(x);
    b.ratios.push(x / a);
  }
  if (builds.length === 2) bunOverNode.push(builds[1].ms.at(-1) / builds[0].ms.at(-1));
}
for (const b of builds) {
  b.rssKb = b.daemon.rssKb();
  b.anonKb = b.daemon.anonKb();
}
for (const b of builds) await b.daemon.stop();
console.log(`machine: ${machine()}`);
console.log(`runs: ${runs} (alternating)`);
console.log(`node -e 0:            median ${median(node).toFixed(1)} ms`);
for (const b of builds) {
  const tag = builds.length > 1 || b.runtime === 'bun' ? ` [${b.runtime}]` : '';
  console.log(`isula version (RPC)${tag}:  median ${median(b.ms).toFixed(1)} ms`);
  console.log(`ratio${tag} (median of paired ratios): ${median(b.ratios).toFixed(2)}`);
  console.log(`daemon start to socket${tag}: ${b.daemon.startMs.toFixed(0)} ms`);
  console.log(`daemon idle RSS${tag}: ${(b.rssKb / 1024).toFixed(1)} MB`);
}
if (bunOverNode.length) console.log(`isula version, bun / node (median of paired ratios): ${median(bunOverNode).toFixed(2)}`);
if (opts.json) {
  const results = builds.map((b) => ({
    runtime: b.runtime,
    versionMedianMs: median(b.ms),
    overNodeE0: median(b.ratios),
    startMs: b.daemon.startMs,
    idle: { vmRssKb: b.rssKb, rssAnonKb: b.anonKb },
  }));
  const data = { machine: machine(), runs, nodeE0Ms: median(node), bunOverNode: bunOverNode.length ? median(bunOverNode) : undefined, results };
  fs.writeFileSync(opts.json, `${JSON.stringify(data, null, 1)}\n`);
}
