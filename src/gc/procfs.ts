import { readProcStat, readWchan } from '../sys/procfs.js';

/** One process left in a container being collected, as `isula inspect` and `info` show it. */
export interface StuckProcess {
  pid: number;
  /** /proc/<pid>/stat state letter: D (uninterruptible), Z (zombie), R, S, T, ... */
  state: string;
  /** Where a D-state task sleeps; `__refrigerator` for a frozen one. */
  wchan: string;
  comm: string;
}

/** Classifies the given pids from /proc; pids already gone are left out. */
export function classify(pids: number[]): StuckProcess[] {
  const out: StuckProcess[] = [];
  for (const pid of pids) {
    const stat = readProcStat(pid);
    if (!stat) continue;
    out.push({ pid, state: stat.state, wchan: stat.state === 'D' ? readWchan(pid) : '', comm: stat.comm });
  }
  return out;
}
