// Shared by the benchmarks: a private isulad from dist/ (or the Bun build's dist-bun/) on a
// temporary root and socket; Podman on a private root; timed commands.
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

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

// --- commands ---------------------------------------------------------------------------------
const OP_TIMEOUT_MS = 600_000;

/** Runs CMD ARGS to its exit: { ok, ms (spawn to exit), out (stdout, trimmed), err }. */
export const run = (cmd, args, env) =>
  new Promise((resolve) => {
    const t0 = performance.now();
    execFile(cmd, args, { maxBuffer: 16 << 20, timeout: OP_TIMEOUT_MS, killSignal: 'SIGKILL', env: env ?? process.env }, (err, stdout, stderr) =>
      resolve({
        ok: !err,
        ms: performance.now() - t0,
        out: stdout.toString().trim(),
        err: err && new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`),
      }),
    );
  });

/** run, throwing its error; resolves with stdout. */
export const mustRun = async (cmd, args) => {
  const r = await run(cmd, args);
  if (!r.ok) throw r.err;
  return r.out;
};

// --- Podman on a private root -------------------------------------------------------------------
function hasCapSysResource() {
  const eff = /^CapEff:\s+([0-9a-f]+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${eff}`) >> 24n) & 1n;
}

/**
 * Files a tool creates outside its private directories: whichever of `paths` did not exist
 * before are deleted by the returned function (deepest first).
 */
function hostLeftovers(paths) {
  const absent = paths.filter((p) => !fs.existsSync(p));
  return () => {
    for (const p of [...absent].sort((a, b) => b.length - a.length)) fs.rmSync(p, { recursive: true, force: true });
  };
}

/**
 * Podman with its storage, run state, temporary files and network config under DIR (cgroupfs,
 * file events, overlay, runc when installed): its global flags (prefix), the --ulimit flags
 * its containers need on this host, and remove() (containers, images, mounts, DIR, and what
 * Podman wrote outside DIR when it was not there before).
 */
export function podmanRoot(dir) {
  // Podman writes these whatever --root says: the image blob cache, netavark's state, runc's root.
  const removeLeftovers = hostLeftovers([
    '/var/lib/containers',
    '/var/lib/containers/cache',
    '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
    '/run/containers',
    '/run/containers/networks',
    '/etc/containers/networks',
    '/run/runc',
  ]);
  const prefix = [
    '--root',
    `${dir}/root`,
    '--runroot',
    `${dir}/run`,
    '--tmpdir',
    `${dir}/tmp`,
    '--network-config-dir',
    `${dir}/networks`,
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--storage-driver',
    'overlay',
  ];
  // runc, as under Docker (Debian's podman picks crun first when both are installed).
  if (fs.existsSync('/usr/bin/runc') || fs.existsSync('/usr/sbin/runc')) prefix.push('--runtime', 'runc');
  // Podman raises RLIMIT_NOFILE/NPROC of every container to 1048576; without CAP_SYS_RESOURCE
  // (a sandboxed host) runc cannot, and every start fails: ask for limits it may set.
  const ulimits = hasCapSysResource() ? [] : ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
  const remove = async () => {
    await run('podman', [...prefix, 'rm', '-a', '-f', '-t', '0']);
    await run('podman', [...prefix, 'rmi', '-a', '-f']);
    // Whatever containers/storage left mounted under the private root, innermost first.
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m?.startsWith(`${dir}/`))
      .reverse();
    for (const m of mounts) await run('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
    removeLeftovers();
  };
  return { prefix, ulimits, remove };
}

/**
 * Puts SECTION (which starts with BEGIN and ends with END) into the markdown file FILE in
 * place of the text from BEGIN's first two words (`<!-- name:begin`: the rest may change
 * between versions) to END, or at its end.
 */
export function replaceSection(file, section, begin, end) {
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const b = doc.indexOf(begin.split(' ', 2).join(' '));
  const e = doc.indexOf(end);
  if (b >= 0 && e > b) doc = doc.slice(0, b) + section + doc.slice(e + end.length);
  else doc = `${doc.replace(/\n*$/, '\n\n')}${section}\n`;
  fs.writeFileSync(file, doc);
}

/** The values of the command line's options (parseArgs), `--help` added: usage on stdout and exit 0; a bad option: usage on stderr and exit 2. */
export function cliOptions(options, usage) {
  let values;
  try {
    values = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    console.error(`${e.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}
