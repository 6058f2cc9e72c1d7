// `isula version` against a running daemon versus `node -e 0`: alternating runs, medians,
// and the median of the paired ratios; plus the daemon's idle RSS. Prints numbers only.
// Usage: node bench/client-roundtrip.mjs [RUNS]   (needs a built dist/)
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ISULA, machine, median, startDaemon } from './daemon.mjs';

const runs = Number(process.argv[2] ?? 30);
const daemon = await startDaemon();
const time = (cmd, args) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
};
for (let i = 0; i < 3; i++) {
  time(process.execPath, ['-e', '0']);
  time(ISULA, ['-H', daemon.host, 'version']);
}
const node = [];
const isula = [];
const ratios = [];
for (let i = 0; i < runs; i++) {
  const a = time(process.execPath, ['-e', '0']);
  const b = time(ISULA, ['-H', daemon.host, 'version']);
  node.push(a);
  isula.push(b);
  ratios.push(b / a);
}
const rss = daemon.rssKb();
await daemon.stop();
console.log(`machine: ${machine()}`);
console.log(`runs: ${runs} (alternating)`);
console.log(`node -e 0:            median ${median(node).toFixed(1)} ms`);
console.log(`isula version (RPC):  median ${median(isula).toFixed(1)} ms`);
console.log(`ratio (median of paired ratios): ${median(ratios).toFixed(2)}`);
console.log(`daemon idle RSS: ${(rss / 1024).toFixed(1)} MB`);
