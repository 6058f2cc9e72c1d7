import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupPids } from '../../sys/cgroup/tree.js';
import { readFileInRoot } from '../../sys/in-root.js';
import { processAlive, readProcessCmdline, readProcStat } from '../../sys/procfs.js';

/**
 * The helper of a container's run (lxc-start, or `script` around it with -t) has its pid in
 * STATE/<id>/helper, written by the daemon as soon as spawn returns (the helper has exec'd
 * by then). The file is made empty before anything of the run exists; a daemon killed before
 * the pid is in it finds the helper by its command line (helpersOf). The file stays until the
 * run's host resources are released, so at restore it names a run that may still hold
 * processes.
 */
export const HELPER_FILE = 'helper';
const MAX_PID_FILE = 32;

/**
 * The helpers of container `id`'s run: the one `pidFile` names, if it is alive and its
 * command line names the container, and any process whose command line names both the
 * container and `lxcpath` (a helper a daemon killed at once after spawning it, read before
 * its pid was written; an lxc-attach).
 */
export function helpersOf(pidFile: string, id: string, lxcpath: string): number[] {
  const found = new Set<number>();
  let pid = 0;
  try {
    // A pid and a newline; read without following a symlink, and no more than that.
    pid = Number(readFileInRoot(path.dirname(pidFile), path.basename(pidFile), MAX_PID_FILE)?.trim());
  } catch {
    // not a file a daemon wrote: only the scan
  }
  if (Number.isSafeInteger(pid) && pid > 1 && processAlive(pid) && readProcessCmdline(pid)?.some((a) => a.includes(id))) found.add(pid);
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const argv = readProcessCmdline(Number(p));
    if (argv?.some((a) => a.includes(id)) && argv.some((a) => a.includes(lxcpath)) && processAlive(Number(p))) found.add(Number(p));
  }
  return [...found];
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid` and every process below it, collected before any is killed (a killed parent orphans its children). */
function tree(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (all.includes(p)) continue;
    all.push(p);
    queue.push(...children(p));
  }
  return all;
}

/**
 * SIGKILLs helpers (`roots`, asked again every round), every process below them and every
 * process in `cgroups`, again until none is left (a process forked meanwhile is caught by
 * the next round). Returns false if some survived `timeoutMs` (stuck in D state, or frozen
 * by someone else).
 */
export async function killHelper(roots: () => number[], cgroups: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const helpers = roots()
      .filter((p) => processAlive(p))
      .flatMap(tree);
    const victims = [...helpers, ...cgroups.flatMap((cg) => cgroupPids(cg))].filter((p) => processAlive(p));
    if (victims.length === 0) return true;
    if (Date.now() > deadline) return false;
    for (const p of victims) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** STATE/<id>/stdin-holder: "<pid> <start time>" of the process that holds the stdin FIFO open. */
export const STDIN_HOLDER_FILE = 'stdin-holder';

/**
 * A container's stdin (-i) is the read end of a FIFO the daemon writes to. With the daemon
 * as its only writer, the container would see EOF when the daemon dies. A small detached
 * holder keeps a write end open meanwhile, so a restarted daemon can take stdin over; it
 * ends by itself within a second of the helper's end, and is killed (process group: the
 * shell and its sleep, which both hold the FIFO) when stdin is to end for real.
 */
export function holdStdin(fifo: string, id: string, helperPid: number, holderFile: string): void {
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  try {
    // $0 is the container id, so the holder's command line names its container.
    const child = spawn('/bin/sh', ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done', id, String(helperPid)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', fd],
      cwd: '/',
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid !== undefined) fs.writeFileSync(holderFile, `${child.pid} ${readProcStat(child.pid)?.startTime ?? 0}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the holder `holderFile` names still holds a container's stdin open. */
export function stdinHeld(holderFile: string): boolean {
  return holderOf(holderFile) !== undefined;
}

function holderOf(holderFile: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(holderFile, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, startTime] = text.trim().split(' ').map(Number);
  return pid !== undefined && pid > 1 && processAlive(pid, startTime) ? pid : undefined;
}

/** Lets the container's stdin end: the holder goes (the daemon closes its own writer). */
export function releaseStdin(holderFile: string): void {
  const pid = holderOf(holderFile);
  if (pid !== undefined) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  fs.rmSync(holderFile, { force: true });
}
