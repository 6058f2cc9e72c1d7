// The daemon's memory around cold pulls of the ~100 MB bigImage(), for one or more isula
// executables side by side on one registry (docs/design.md, "Pull and create-from-image
// benchmark"). Each daemon pulls PULLS times (image and layers removed and `sync` before each,
// daemons alternating); 2 s after each pull, and once more IDLE s after the last (the
// unpacking thread ends after 30 s idle), it reads the daemon's VmRSS and RssAnon and splits
// its resident anonymous memory by mapping (/proc/PID/smaps): brk (glibc's main arena),
// glibc's thread arenas (64 MiB-aligned heaps), and the rest (V8's heaps, thread stacks,
// large mallocs). Needs `npx tsc -p tsconfig.json` (the test helpers in out/). As root.
// Usage: node bench/pull-mem.mjs [--pulls 4] [--idle 33] DIST_DIR...
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, run, startDaemon, statusKb } from './daemon.mjs';

const USAGE = 'usage: node bench/pull-mem.mjs [--pulls N] [--idle SECONDS] DIST_DIR...';
let args;
try {
  args = parseArgs({
    options: { pulls: { type: 'string', default: '4' }, idle: { type: 'string', default: '33' }, help: { type: 'boolean', short: 'h' } },
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
const pulls = Number(args.values.pulls);
const idle = Number(args.values.idle);
if (dists.length < 1 || !(pulls >= 1) || !(idle >= 0) || dists.some((d) => !fs.existsSync(path.join(d, 'isulad')))) {
  console.error(`want one or more dist directories (each with isulad and isula)\n${USAGE}`);
  process.exit(2);
}

const ARENA = 64 << 20;
/** Resident anonymous kB of PID by kind of mapping. */
function anonSplit(pid) {
  const split = { brk: 0, arenas: 0, other: 0 };
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return split;
  }
  let kind;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [, start, name] = head;
      if (name === '[heap]') kind = 'brk';
      else if (name === '') kind = BigInt(`0x${start}`) % BigInt(ARENA) === 0n ? 'arenas' : 'other';
      else kind = undefined;
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && kind) split[kind] += Number(anon[1]);
  }
  return split;
}

const mb = (kb) => (kb / 1024).toFixed(0);
function sample(d) {
  const s = anonSplit(d.pid);
  return `VmRSS ${mb(statusKb(d.pid, 'VmRSS'))} RssAnon ${mb(statusKb(d.pid, 'RssAnon'))} (brk ${mb(s.brk)}, arenas ${mb(s.arenas)}, other ${mb(s.other)})`;
}

const helpers = path.join(ROOT, 'out', 'test', 'helpers');
const { startRegistry } = await import(path.join(helpers, 'registry.js'));
const { bigImage, pushImage } = await import(path.join(helpers, 'oci-images.js'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const reg = await startRegistry();
const daemons = [];
const lines = dists.map(() => []);
try {
  pushImage(bigImage(), reg, 'bench/big:1');
  const ref = `${reg.host}/bench/big:1`;
  for (const dist of dists) daemons.push(await startDaemon({ dist, config: { 'insecure-registries': [reg.host] } }));
  for (const [i, d] of daemons.entries()) lines[i].push(`started: ${sample(d)}`);
  for (let p = 0; p < pulls; p++) {
    for (const [i, d] of daemons.entries()) {
      const c = (...a) => run(d.isula, ['-H', d.host, ...a]);
      await c('rmi', ref);
      await c('images', 'prune', '-a', '-f');
      execFileSync('sync');
      const pulled = await c('pull', ref);
      if (!pulled.ok) throw pulled.err;
      await sleep(2000);
      lines[i].push(`pull ${p + 1} (${(pulled.ms / 1000).toFixed(2)} s), 2 s after: ${sample(d)}`);
    }
  }
  await sleep(idle * 1000);
  for (const [i, d] of daemons.entries()) lines[i].push(`${idle} s later: ${sample(d)}`);
} finally {
  for (const d of daemons) await d.stop();
  await reg.stop();
}
for (const [i, dist] of dists.entries()) console.log(`${dist} (MB)\n  ${lines[i].join('\n  ')}`);
