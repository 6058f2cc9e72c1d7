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
 * Starts DIST/isulad on a temporary graph, state dir and socket.
 * - dist: another directory of isulad and isula (DIST_BUN: the Bun build).
 * - config: daemon.json keys (e.g. { 'cgroup-parent': '/isulad-bench' }).
 * - profileDir: run the daemon from the TypeScript build (out/, `npx tsc -p tsconfig.json`:
 *   readable function names, unlike the minified bundle) under this Node with --cpu-prof; the
 *   single executable refuses --cpu-prof in NODE_OPTIONS. The profile (isulad.cpuprofile) is
 *   written to profileDir when the daemon stops.
 */
export async function startDaemon({ dist = DIST, config = {}, profileDir } = {}) {
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
    child = spawn(path.join(dist, 'isulad'), args, { stdio: 'ignore' });
  }
  // Polled every 2 ms: startMs (spawn to the socket's appearance) is a measurement.
  const t0 = performance.now();
  while (!fs.existsSync(sock) && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 2));
  if (!fs.existsSync(sock)) throw new Error(`isulad did not create ${sock} within 10 s`);
  const startMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  return {
    dir,
    startMs,
    host: `unix://${sock}`,
    isula,
    pid: child.pid,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    async stop() {
      try {
        const ids = execFileSync(isula, ['-H', `unix://${sock}`, 'ps', '-aq'])
          .toString()
          .split('\n')
          .filter(Boolean);
        if (ids.length) execFileSync(isula, ['-H', `unix://${sock}`, 'rm', '-f', ...ids], { stdio: 'ignore' });
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
