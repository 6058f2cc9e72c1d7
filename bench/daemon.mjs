// Shared by the benchmarks: a private isulad from dist/ (or the Bun build's dist-bun/) on a
// temporary root and socket.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// ISULAD_BENCH_DIST: a copy of dist/ (bench/compare.sh makes one, so a rebuild during its
// run does not change what is measured).
export const DIST = process.env.ISULAD_BENCH_DIST || path.join(ROOT, 'dist');
export const ISULA = path.join(DIST, 'isula');
// The Bun executables (`npm run build -- --runtime bun`), for the engine isula-bun;
// ISULAD_BENCH_DIST_BUN: a copy, as ISULAD_BENCH_DIST.
export const DIST_BUN = process.env.ISULAD_BENCH_DIST_BUN || path.join(ROOT, 'dist-bun');

/**
 * Drops FILE's pages from the page cache (after writing back any dirty ones). A file just
 * written sits in the cache in large folios, and every page fault then maps a whole folio:
 * the daemon's VmRSS read 61 MB instead of 51 MB. Evicted, it is paged in on demand, as an
 * installed executable is after a boot; and every daemon start is then a cold one.
 */
export function evict(file) {
  const real = fs.realpathSync(file);
  execFileSync('sync', [real]);
  execFileSync('dd', [`if=${real}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/** The kB of a field of /proc/PID/status (VmRSS, RssAnon...); 0 once the process is gone. */
export function statusKb(pid, key) {
  try {
    return Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * Starts DIST/isulad on a temporary graph, state dir and socket, its executable evicted from
 * the page cache first (evict above), so that startMs and the RSS figures of every start are
 * measured the same way.
 * - dist: another directory of isulad and isula (DIST_BUN: the Bun build).
 * - wrap: a command line the executables run under (['qemu-aarch64-static', '-L', SYSROOT]
 *   for an aarch64 build); the daemon's pid is then the emulator's.
 * - config: daemon.json keys (e.g. { 'cgroup-parent': '/isulad-bench' }).
 * - profileDir: run the daemon from the TypeScript build (out/, `npx tsc -p tsconfig.json`:
 *   readable function names, unlike the minified bundle) under this Node with --cpu-prof; the
 *   single executable refuses --cpu-prof in NODE_OPTIONS. The profile (isulad.cpuprofile) is
 *   written to profileDir when the daemon stops.
 */
export async function startDaemon({ dist = DIST, config = {}, profileDir, wrap = [] } = {}) {
  const isula = path.join(dist, 'isula');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-'));
  const sock = path.join(dir, 'isulad.sock');
  fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify(config));
  const args = ['-g', `${dir}/root`, '-S', `${dir}/state`, '-H', `unix://${sock}`, '-p', `${dir}/isulad.pid`, '--config-file', `${dir}/daemon.json`];
  let child;
  if (profileDir) {
    const main = path.join(ROOT, 'out', 'src', 'daemon', 'main.js');
    if (!fs.existsSync(main)) throw new Error(`${main} missing: run npx tsc -p tsconfig.json`);
    const entry = path.join(dir, 'isulad-profile.mjs');
    fs.writeFileSync(entry, `const m = await import(${JSON.stringify(main)});\nawait m.daemonMain(process.argv.slice(2));\n`);
    fs.mkdirSync(profileDir, { recursive: true });
    child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', 'isulad.cpuprofile', entry, ...args], { stdio: 'ignore' });
  } else {
    evict(path.join(dist, 'isulad'));
    const [cmd, ...pre] = [...wrap, path.join(dist, 'isulad')];
    child = spawn(cmd, [...pre, ...args], { stdio: 'ignore' });
  }
  // Polled every 2 ms: startMs (spawn to the socket's appearance) is a measurement. 30 s: a
  // Node daemon under qemu-user takes seconds.
  const t0 = performance.now();
  while (!fs.existsSync(sock) && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 2));
  if (!fs.existsSync(sock)) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`isulad did not create ${sock} within 30 s`);
  }
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  return {
    dir,
    startMs,
    host: `unix://${sock}`,
    isula,
    // The client as a command line: [isula] or [...wrap, isula].
    client: [...wrap, isula],
    pid: child.pid,
    rssKb: () => statusKb(child.pid, 'VmRSS'),
    anonKb: () => statusKb(child.pid, 'RssAnon'),
    async stop() {
      const [cmd, ...pre] = [...wrap, isula];
      try {
        const ids = execFileSync(cmd, [...pre, '-H', `unix://${sock}`, 'ps', '-aq'])
          .toString()
          .split('\n')
          .filter(Boolean);
        if (ids.length) execFileSync(cmd, [...pre, '-H', `unix://${sock}`, 'rm', '-f', ...ids], { stdio: 'ignore' });
      } catch {}
      const exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', r)));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      // LXC's lock files for the containers of this graph (/run/lxc/lock/<lxcpath>/.<name>).
      fs.rmSync(`/run/lxc/lock${dir}`, { recursive: true, force: true });
    },
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function machine() {
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.versions.node}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

// --- cgroups: the benchmarks' daemons make parent cgroups (cgroup-parent /isulad-bench) ------
const hierarchies = () => {
  try {
    return fs
      .readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `/sys/fs/cgroup/${d.name}`)
      .concat(fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : []);
  } catch {
    return [];
  }
};
/** The top-level cgroups of every hierarchy now, for removeNewCgroups. */
export const cgroupSnapshot = () => new Set(hierarchies().flatMap((h) => fs.readdirSync(h).map((d) => `${h}/${d}`)));
/** Removes the (empty) top-level cgroups NAMES that were not in the snapshot existedBefore. */
export function removeNewCgroups(names, existedBefore) {
  const rmTree = (dir) => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) rmTree(path.join(dir, d.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      // busy (something still in it) or gone
    }
  };
  for (const h of hierarchies()) for (const n of names) if (!existedBefore.has(`${h}/${n}`) && fs.existsSync(`${h}/${n}`)) rmTree(`${h}/${n}`);
}
