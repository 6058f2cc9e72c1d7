// Cold pulls of the ~100 MB bigImage() by two or more isula executables side by side, in
// alternating rounds (round 1 in the given order, round 2 reversed, ...), on one registry:
// how a change to the pull was measured (docs/design.md, "Pull and create-from-image
// benchmark"). Before each pull, unmeasured: the image and its layers removed (`rmi` +
// `images prune -a -f`) and `sync`. Prints each executable's median and the median over the
// rounds of its time ÷ the first one's, with the load seen. --idle S: before each round every
// daemon is left S seconds without a pull (31: their layer unpacking threads have ended, so
// each pull starts its thread, as the first pull after a quiet spell does). Needs
// `npx tsc -p tsconfig.json` (the test helpers in out/). As root.
// Usage: node bench/pull-ab.mjs [--rounds 10] [--idle S] DIST_DIR DIST_DIR...   (a dist/ directory each, e.g. a copy of the old one)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, ROOT, run, startDaemon } from './daemon.mjs';

const USAGE = 'usage: node bench/pull-ab.mjs [--rounds R] [--idle S] DIST_DIR DIST_DIR...';
let args;
try {
  args = parseArgs({
    options: { rounds: { type: 'string', default: '10' }, idle: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const dists = args.positionals;
const rounds = Number(args.values.rounds);
const idle = Number(args.values.idle);
if (dists.length < 2 || !Number.isInteger(rounds) || rounds < 1 || !(idle >= 0) || dists.some((d) => !fs.existsSync(path.join(d, 'isulad')))) {
  console.error(`want two or more dist directories (each with isulad and isula) and a positive --rounds\n${USAGE}`);
  process.exit(2);
}
const helpers = path.join(ROOT, 'out', 'test', 'helpers');
const { startRegistry } = await import(path.join(helpers, 'registry.js'));
const { bigImage, pushImage } = await import(path.join(helpers, 'oci-images.js'));

const reg = await startRegistry();
const daemons = [];
const times = dists.map(() => []);
const loads = [];
try {
  pushImage(bigImage(), reg, 'bench/big:1');
  const ref = `${reg.host}/bench/big:1`;
  for (const dist of dists) daemons.push(await startDaemon({ dist, config: { 'insecure-registries': [reg.host] } }));
  const clear = async (d) => {
    await run(d.isula, ['-H', d.host, 'rmi', ref]);
    await run(d.isula, ['-H', d.host, 'images', 'prune', '-a', '-f']);
    execFileSync('sync');
  };
  for (let r = 0; r < rounds; r++) {
    if (idle > 0) {
      for (const d of daemons) await clear(d);
      await new Promise((resolve) => setTimeout(resolve, idle * 1000));
    }
    const order = dists.map((_, i) => i);
    for (const i of r % 2 ? order.reverse() : order) {
      const d = daemons[i];
      const c = (...a) => run(d.isula, ['-H', d.host, ...a]);
      if (idle === 0) await clear(d);
      const pulled = await c('pull', ref);
      if (!pulled.ok) throw pulled.err;
      times[i].push(pulled.ms);
      loads.push(os.loadavg()[0]);
      process.stderr.write(`round ${r + 1} ${dists[i]}: ${(pulled.ms / 1000).toFixed(3)} s, load ${os.loadavg()[0].toFixed(1)}\n`);
    }
  }
} finally {
  for (const d of daemons) await d.stop();
  await reg.stop();
}
const s = (ms) => (ms / 1000).toFixed(3);
for (const [i, dist] of dists.entries()) {
  const per = times[i].map((t, r) => t / times[0][r]);
  const vs = i === 0 ? '' : `, ÷ the first per round: median ${median(per).toFixed(3)}, faster in ${per.filter((x) => x < 1).length} of ${rounds}`;
  console.log(`${dist}: median ${s(median(times[i]))} s (${times[i].map(s).join(' ')})${vs}`);
}
console.log(`load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
