// Issue 15 under qemu-user: the aarch64 executables (dist/isulad-aarch64: Node;
// dist/isulad-bun-aarch64: Bun) run by qemu-aarch64-static with an arm64 glibc sysroot
// (build/arm64-sysroot.sh), as build/check-aarch64.sh runs them. Per build: executable size,
// `isula --version` alone, the daemon's start to socket (its executable evicted from the page
// cache first) and its RSS after the calls (VmRSS and RssAnon of the emulator process: QEMU's
// own memory and its translated code are in it, so the figures compare the two builds with
// each other, not with a native daemon), and `isula version` against its own daemon; the
// builds alternate call by call. No container runs (LXC is the host's, not aarch64).
// Usage: node bench/aarch64.mjs [RUNS] [--node FILE] [--bun FILE] [--json FILE]
//        (RUNS default 10; a build whose FILE is missing is skipped)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { machine, median, ROOT, startDaemon } from './daemon.mjs';

const USAGE = 'usage: node bench/aarch64.mjs [RUNS] [--node FILE] [--bun FILE] [--json FILE]';
let parsed;
try {
  parsed = parseArgs({
    options: {
      node: { type: 'string', default: path.join(ROOT, 'dist', 'isulad-aarch64') },
      bun: { type: 'string', default: path.join(ROOT, 'dist', 'isulad-bun-aarch64') },
      json: { type: 'string' },
    },
    allowPositionals: true,
  });
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const opts = parsed.values;
const runs = Number(parsed.positionals[0] ?? 10);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(USAGE);
  process.exit(2);
}
const files = { node: opts.node, bun: opts.bun };
const wanted = Object.keys(files).filter((r) => fs.existsSync(files[r]));
if (!wanted.length) {
  console.error(`no aarch64 executable (${opts.node}, ${opts.bun}): npm run build -- --arch aarch64, and with --runtime bun`);
  process.exit(1);
}
if (spawnSync('qemu-aarch64-static', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('qemu-aarch64-static not found: apt-get install --no-install-recommends qemu-user-static');
  process.exit(1);
}
const sysroot = path.resolve(ROOT, execFileSync('bash', ['build/arm64-sysroot.sh'], { cwd: ROOT }).toString().trim().split('\n').at(-1));
const wrap = ['qemu-aarch64-static', '-L', sysroot];

// Under qemu-user a call takes a second or so; a minute is a hang.
const CALL_TIMEOUT_MS = 60_000;
const time = ([cmd, ...pre], args) => {
  const t0 = performance.now();
  const r = spawnSync(cmd, [...pre, ...args], { stdio: 'ignore', timeout: CALL_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${[cmd, ...pre, ...args].join(' ')} exited ${r.status ?? r.signal}`);
  return performance.now() - t0;
};

// Each build as a directory of isulad and isula (symlinks: the executable picks the program by
// the name it is invoked by), for startDaemon.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-a64-'));
const builds = [];
try {
  for (const runtime of wanted) {
    const dir = path.join(work, runtime);
    fs.mkdirSync(dir);
    fs.symlinkSync(path.resolve(files[runtime]), path.join(dir, 'isulad'));
    fs.symlinkSync(path.resolve(files[runtime]), path.join(dir, 'isula'));
    builds.push({ runtime, executableBytes: fs.statSync(files[runtime]).size, daemon: await startDaemon({ dist: dir, wrap }), ms: [], versionOnlyMs: [] });
  }
  const call = (b) => time(b.daemon.client, ['-H', b.daemon.host, 'version']);
  for (const b of builds) call(b);
  for (let i = 0; i < runs; i++) {
    for (const b of builds) {
      b.ms.push(call(b));
      b.versionOnlyMs.push(time(b.daemon.client, ['--version']));
    }
  }
  for (const b of builds) b.idle = { vmRssKb: b.daemon.rssKb(), rssAnonKb: b.daemon.anonKb() };
} finally {
  for (const b of builds) await b.daemon.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

const results = builds.map((b) => ({
  runtime: b.runtime,
  executableBytes: b.executableBytes,
  startMs: b.daemon.startMs,
  versionMedianMs: median(b.ms),
  versionOnlyMedianMs: median(b.versionOnlyMs),
  idle: b.idle,
}));
const qemu = execFileSync('qemu-aarch64-static', ['--version']).toString().split('\n')[0];
if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify({ machine: machine(), qemu, runs, results }, null, 1)}\n`);
const mb = (kb) => (kb / 1024).toFixed(1);
console.log(`machine: ${machine()}`);
console.log(`${qemu}; ${runs} runs (alternating), medians`);
for (const r of results)
  console.log(
    `[${r.runtime} aarch64] executable ${(r.executableBytes / 1e6).toFixed(1)} MB; isula --version ${r.versionOnlyMedianMs.toFixed(0)} ms; isula version ${r.versionMedianMs.toFixed(0)} ms; daemon start to socket ${r.startMs.toFixed(0)} ms; daemon RSS ${mb(r.idle.vmRssKb)} MB (RssAnon ${mb(r.idle.rssAnonKb)})`,
  );
if (results.length === 2) console.log(`isula version, bun / node: ${(results[1].versionMedianMs / results[0].versionMedianMs).toFixed(2)}`);
