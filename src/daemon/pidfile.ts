import fs from 'node:fs';
import path from 'node:path';
import { generalError } from '../api/errors.js';
import { atomicWriteFileSync } from '../sys/atomic-write.js';
import { readProcessCmdline } from '../sys/procfs.js';
import { makeDirs } from '../sys/dirs.js';

function runningDaemonPid(file: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  // A stale file may name a recycled pid: only an isulad process counts.
  const cmdline = readProcessCmdline(pid);
  return cmdline?.some((arg) => path.basename(arg).startsWith('isulad')) ? pid : undefined;
}

/**
 * Claims the pidfile and a lock in the graph directory, refusing when another daemon
 * holds either. Returns the release function.
 */
export function claimSingleInstance(pidfile: string, graph: string): () => void {
  const graphLock = path.join(graph, 'isulad.lock');
  for (const file of [pidfile, graphLock]) {
    const pid = runningDaemonPid(file);
    if (pid !== undefined) {
      const what = file === pidfile ? `pidfile ${pidfile}` : `graph ${graph}`;
      throw generalError(`isulad is already running with pid ${pid} (it holds the ${what})`);
    }
  }
  makeDirs(path.dirname(pidfile));
  atomicWriteFileSync(pidfile, `${process.pid}\n`, 0o644);
  atomicWriteFileSync(graphLock, `${process.pid}\n`, 0o600);
  return () => {
    for (const file of [pidfile, graphLock]) {
      if (runningDaemonPid(file) === undefined) fs.rmSync(file, { force: true });
    }
  };
}
