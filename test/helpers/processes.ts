import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What runs of a container on the host, seen from outside the engine (crash and fault tests). */

/** Processes (not clients) whose command line names `id`: lxc-start, `script`, the init's monitor. */
export function processesOf(id: string): string[] {
  // An empty id is in every command line: a test whose create failed would name them all.
  if (id === '') throw new Error('processesOf needs a container id');
  const found: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (/^State:\s+Z/m.test(fs.readFileSync(`/proc/${p}/status`, 'utf8'))) continue;
    } catch {
      continue;
    }
    if (argv.some((a) => a.includes(id)) && !/isula$/.test(argv[0] ?? '')) found.push(`${p}: ${argv.join(' ')}`);
  }
  return found;
}

/** The container's cgroups (its own and its LXC monitor's) that still exist in any hierarchy. */
export function cgroupsOf(id: string): string[] {
  const found: string[] = [];
  for (const h of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
    for (const parent of ['isulad', 'isulad.monitor']) {
      const dir = path.join('/sys/fs/cgroup', h, parent, id);
      if (fs.existsSync(dir)) found.push(dir);
    }
  }
  return found;
}

/** Kills what a failing engine left of `ids` (the test must not leak when it fails) and removes their cgroups. */
export function reap(ids: string[]): void {
  // An id still empty (its create failed or never ran) has nothing to reap.
  ids = ids.filter((id) => id !== '');
  for (const id of ids) {
    for (const line of processesOf(id)) {
      try {
        process.kill(Number(line.split(':')[0]), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  spawnSync('sleep', ['0.5']);
  for (const id of ids) for (const dir of cgroupsOf(id)) spawnSync('find', [dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
}
