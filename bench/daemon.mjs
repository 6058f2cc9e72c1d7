// Shared by the benchmarks: a private isulad from dist/ on a temporary root and socket.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const ISULA = path.join(ROOT, 'dist', 'isula');

export async function startDaemon() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-bench-'));
  const sock = path.join(dir, 'isulad.sock');
  fs.writeFileSync(path.join(dir, 'daemon.json'), '{}');
  const child = spawn(path.join(ROOT, 'dist', 'isulad'), ['-g', `${dir}/root`, '-S', `${dir}/state`, '-H', `unix://${sock}`, '-p', `${dir}/isulad.pid`, '--config-file', `${dir}/daemon.json`], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  return {
    dir,
    host: `unix://${sock}`,
    pid: child.pid,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
    async stop() {
      try {
        const ids = execFileSync(ISULA, ['-H', `unix://${sock}`, 'ps', '-aq']).toString().split('\n').filter(Boolean);
        if (ids.length) execFileSync(ISULA, ['-H', `unix://${sock}`, 'rm', '-f', ...ids], { stdio: 'ignore' });
      } catch {}
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function machine() {
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.versions.node}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}
