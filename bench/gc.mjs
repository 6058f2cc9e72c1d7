// 20 containers frozen from outside (D state), removed with `rm -f` all at once: time until
// every `rm -f` returned, and until no process, cgroup or leftover of them is left.
// Usage: node bench/gc.mjs [N]
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ISULA, ROOT, machine, startDaemon } from './daemon.mjs';

const n = Number(process.argv[2] ?? 20);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-gc-'));
const rootfs = path.join(work, 'bb');
execFileSync(path.join(ROOT, 'rootfs-samples', 'busybox-rootfs.sh'), [rootfs], { stdio: 'ignore' });
const daemon = await startDaemon();
const isula = (...args) =>
  execFileSync(ISULA, ['-H', daemon.host, ...args])
    .toString()
    .trim();
const ids = [];
for (let i = 0; i < n; i++) ids.push(isula('run', '-d', '--external-rootfs', rootfs, 'none', 'sleep', '1000'));
const pids = ids.map((id) => Number(isula('inspect', '-f', '{{.State.Pid}}', id)));
for (const id of ids) fs.writeFileSync(`/sys/fs/cgroup/freezer/isulad/${id}/freezer.state`, 'FROZEN');
const t0 = performance.now();
await Promise.all(ids.map((id) => new Promise((resolve) => execFile(ISULA, ['-H', daemon.host, 'rm', '-f', id], resolve))));
const returned = performance.now() - t0;
const clean = () => pids.every((p) => !fs.existsSync(`/proc/${p}`)) && ids.every((id) => !fs.existsSync(`/sys/fs/cgroup/freezer/isulad/${id}`));
while (!clean()) await new Promise((r) => setTimeout(r, 10));
const allClean = performance.now() - t0;
await daemon.stop();
fs.rmSync(work, { recursive: true, force: true });
console.log(`machine: ${machine()}`);
console.log(`${n} frozen containers, rm -f at once: all returned after ${returned.toFixed(0)} ms, all clean after ${allClean.toFixed(0)} ms`);
