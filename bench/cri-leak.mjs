// Does the daemon keep memory per CRI pod lifecycle? Runs whole lifecycles (RunPodSandbox,
// Create/Start/Stop/RemoveContainer (busybox sleep), Stop/RemovePodSandbox) against one daemon
// in batches, and after each batch reads the daemon's RssAnon and, after forced full GCs, V8's
// live heap. A leak grows the live heap with the number of lifecycles; heap sizing does not.
// The daemon runs from out/ (`npx tsc -p tsconfig.json`) under this Node with the flags the
// single executable's loader sets (--no-opt; the daemon sets the young-generation growth) plus
// --expose-gc, and a preload that, on SIGUSR2, collects and writes its heap figures (and a heap
// snapshot with --snapshots) to a file. Same registry, images and CNI conflist as bench/cri.mjs.
// Usage: node bench/cri-leak.mjs [--batches 60,60,120,240] [--parallel 0] [--snapshots DIR]
// --parallel N: each batch runs N whole lifecycles at once instead of one after the other.
// With --snapshots the RssAnon readings after the first include the snapshot writer's memory.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cgroupSnapshot, cliOptions, ROOT, removeNewCgroups, statusKb } from './daemon.mjs';

const USAGE = 'usage: node bench/cri-leak.mjs [--batches 60,60,120,240] [--parallel N] [--snapshots DIR]';
const opts = cliOptions(
  { batches: { type: 'string', default: '60,60,120,240' }, parallel: { type: 'string', default: '0' }, snapshots: { type: 'string' } },
  USAGE,
);
const batches = opts.batches.split(',').map(Number);
const parallel = Number(opts.parallel);
const helpers = path.join(ROOT, 'out', 'test', 'helpers');
const { startRegistry } = await import(path.join(helpers, 'registry.js'));
const { busyboxImage, pushImage } = await import(path.join(helpers, 'oci-images.js'));
const { criCall, criClient } = await import(path.join(helpers, 'cri.js'));
const { RuntimeService, ImageService } = await import(path.join(ROOT, 'out', 'src', 'api', 'cri', 'gen', 'api_pb.js'));
const rt = RuntimeService.method;
const log = (msg) => process.stderr.write(`[leak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-leak-'));
const cleanups = [];
async function cleanup() {
  for (const f of cleanups.reverse()) await f().catch((e) => log(`cleanup: ${e.message}`));
  fs.rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().finally(() => process.exit(130)));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** The preload: SIGUSR2 → three full GCs, then the heap figures (and a snapshot) to a file. */
const PRELOAD = `import fs from 'node:fs';
import v8 from 'node:v8';
process.on('SIGUSR2', () => {
  const anonBefore = /RssAnon:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
  for (let i = 0; i < 3; i++) globalThis.gc();
  const h = v8.getHeapStatistics();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, committed: s.physical_space_size }]));
  const anonAfter = /RssAnon:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
  let snapshot;
  if (process.env.LEAK_SNAPSHOTS) snapshot = v8.writeHeapSnapshot(process.env.LEAK_SNAPSHOTS + '/' + Date.now() + '.heapsnapshot');
  fs.writeFileSync(process.env.LEAK_OUT + '.tmp', JSON.stringify({ anonBefore: Number(anonBefore), anonAfter: Number(anonAfter), used: h.used_heap_size, total: h.total_heap_size, physical: h.total_physical_size, malloced: h.malloced_memory, external: h.external_memory, spaces, snapshot }));
  fs.renameSync(process.env.LEAK_OUT + '.tmp', process.env.LEAK_OUT);
});
`;

async function startDaemonFromOut(config) {
  const dir = path.join(work, 'daemon');
  fs.mkdirSync(dir);
  const sock = path.join(dir, 'isulad.sock');
  fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'preload.mjs'), PRELOAD);
  const entry = path.join(dir, 'isulad.mjs');
  fs.writeFileSync(
    entry,
    `const m = await import(${JSON.stringify(path.join(ROOT, 'out', 'src', 'daemon', 'main.js'))});\nawait m.daemonMain(process.argv.slice(2));\n`,
  );
  const out = path.join(dir, 'heap.json');
  const args = ['-g', `${dir}/root`, '-S', `${dir}/state`, '-H', `unix://${sock}`, '-p', `${dir}/isulad.pid`, '--config-file', `${dir}/daemon.json`];
  const env = { ...process.env, LEAK_OUT: out, ...(opts.snapshots ? { LEAK_SNAPSHOTS: path.resolve(opts.snapshots) } : {}) };
  if (opts.snapshots) fs.mkdirSync(opts.snapshots, { recursive: true });
  const child = spawn(process.execPath, ['--no-opt', '--expose-gc', '--import', path.join(dir, 'preload.mjs'), entry, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  for (let i = 0; i < 3000 && !fs.existsSync(sock); i++) await sleep(10);
  if (!fs.existsSync(sock)) throw new Error('daemon did not start');
  const heap = async () => {
    fs.rmSync(out, { force: true });
    process.kill(child.pid, 'SIGUSR2');
    for (let i = 0; i < 1000 && !fs.existsSync(out); i++) await sleep(20);
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  };
  const stop = async () => {
    const exited = new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  return { sock, pid: child.pid, heap, stop };
}

try {
  const cgroupsBefore = cgroupSnapshot();
  cleanups.push(async () => removeNewCgroups(['isulad', 'lxc.payload', 'lxc.monitor', 'kubepods'], cgroupsBefore));
  const reg = await startRegistry();
  cleanups.push(() => reg.stop());
  const pause = `${reg.host}/pause:3.9`;
  execFileSync(path.join(ROOT, 'rootfs-samples', 'pause-image.sh'), ['--push', pause, '--insecure'], { stdio: ['ignore', 'ignore', 'inherit'] });
  pushImage(busyboxImage(), reg, 'busybox:latest');
  const image = `${reg.host}/busybox:latest`;
  // A bridge and a /24 of its own (as bench/cri.mjs).
  const n = process.pid % 200;
  const bridge = `crileak${n}`;
  const conf = path.join(work, 'net.d');
  fs.mkdirSync(conf);
  fs.writeFileSync(
    path.join(conf, '10-leak.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'crileak',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: `10.${40 + n}.19.0/24` }]], dataDir: path.join(work, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  cleanups.push(async () => spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' }));
  const d = await startDaemonFromOut({
    'enable-cri-v1': true,
    'pod-sandbox-image': pause,
    'insecure-registries': [reg.host],
    'network-plugin': 'cni',
    'cni-conf-dir': conf,
    'cni-bin-dir': '/usr/lib/cni',
    'websocket-server-listening-port': await freePort(),
  });
  cleanups.push(() => d.stop());
  const client = criClient(d.sock);
  cleanups.push(async () => client.close());
  for (const img of [pause, image]) await criCall(client, ImageService.method.pullImage, { image: { image: img } });
  let seq = 0;
  const lifecycle = async () => {
    const name = `leak${seq++}`;
    const config = {
      metadata: { name, uid: `uid-${name}`, namespace: 'bench', attempt: 0 },
      hostname: name,
      logDirectory: path.join(work, 'logs', name),
      linux: {},
    };
    fs.mkdirSync(config.logDirectory, { recursive: true });
    const { podSandboxId } = await criCall(client, rt.runPodSandbox, { config });
    const ctr = { metadata: { name: 'app', attempt: 0 }, image: { image }, command: ['sleep', '3600'], logPath: 'app.log', linux: {} };
    const { containerId } = await criCall(client, rt.createContainer, { podSandboxId, config: ctr, sandboxConfig: config });
    await criCall(client, rt.startContainer, { containerId });
    await criCall(client, rt.stopContainer, { containerId, timeout: 0n });
    await criCall(client, rt.removeContainer, { containerId });
    await criCall(client, rt.stopPodSandbox, { podSandboxId });
    await criCall(client, rt.removePodSandbox, { podSandboxId });
    fs.rmSync(config.logDirectory, { recursive: true, force: true });
  };
  // Past the unpacking thread's 30 s after the pulls, and one warm-up lifecycle.
  await lifecycle();
  await sleep(35_000);
  const rows = [];
  const read = async (done) => {
    await sleep(3000);
    const h = await d.heap();
    const row = {
      lifecycles: done,
      rssAnonMB: h.anonBefore / 1024,
      anonAfterGcMB: h.anonAfter / 1024,
      heapUsedMB: h.used / 2 ** 20,
      heapTotalMB: h.total / 2 ** 20,
      mallocedMB: h.malloced / 2 ** 20,
      externalMB: h.external / 2 ** 20,
      vmRssMB: statusKb(d.pid, 'VmRSS') / 1024,
    };
    for (const [k, v] of Object.entries(h.spaces))
      if (v.committed > 2 ** 20) row[`${k.replace('_space', '')}MB`] = `${(v.used / 2 ** 20).toFixed(1)}/${(v.committed / 2 ** 20).toFixed(1)}`;
    rows.push(row);
    log(
      Object.entries(row)
        .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`)
        .join(', '),
    );
  };
  await read(0);
  let done = 0;
  for (const b of batches) {
    const t = Date.now();
    if (parallel > 0) {
      for (let i = 0; i < b; i += parallel) await Promise.all(Array.from({ length: Math.min(parallel, b - i) }, lifecycle));
    } else for (let i = 0; i < b; i++) await lifecycle();
    done += b;
    log(`${b} lifecycles in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await read(done);
  }
  console.log(JSON.stringify(rows, null, 1));
} finally {
  await cleanup();
}
