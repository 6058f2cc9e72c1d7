import fs from 'node:fs';
import path from 'node:path';
import { hostCgroups } from './mounts.js';

/*
 * Every write to a cgroup.procs file takes the kernel's one cgroup_threadgroup_rwsem for
 * writing. Its first writer after a quiet spell waits for an RCU grace period (the per-CPU
 * rwsem's rcu_sync switches readers to the slow path first): 5–20 ms on this VM; a writer
 * that comes while the switch is on, or within a grace period after the last writer left,
 * takes 0.1 ms. lxc-start writes cgroup.procs for its monitor and for the container's init,
 * so a start paid that wait on its critical path, or did not, depending on whether some other
 * migration had just happened: StartContainer was bimodal (12 or 25 ms).
 *
 * While a container starts, the daemon keeps the switch on: it writes its own pid into its
 * own cgroup (a migration to where it already is: nothing moves) every few milliseconds from
 * the thread pool. The first write's grace period then runs beside the daemon's own start
 * work instead of inside lxc-start. A failed write (a read-only or foreign cgroup) only ends
 * the warming; nothing depends on it.
 */

/** Below the shortest grace period measured (5 ms): the switch never turns off in between. */
const INTERVAL_MS = 3;

/** The daemon's own cgroup.procs in one hierarchy (cgroup2 if mounted, else the first v1 one). */
function ownProcsFile(): string | undefined {
  try {
    // "ID:CONTROLLERS:PATH" lines; cgroup2's is "0::PATH".
    const own = fs
      .readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .flatMap((line) => {
        const m = /^(\d+):([^:]*):(.+)$/.exec(line);
        return m ? [{ v2: m[1] === '0' && m[2] === '', controllers: m[2]!.split(','), rel: m[3]! }] : [];
      });
    const mounts = hostCgroups().mounts;
    for (const m of [...mounts.filter((x) => x.version === 2), ...mounts.filter((x) => x.version === 1)]) {
      const entry = own.find((e) => (m.version === 2 ? e.v2 : e.controllers.some((c) => m.controllers.includes(c))));
      if (entry) return path.join(m.path, entry.rel, 'cgroup.procs');
    }
  } catch {
    // no cgroups to warm
  }
  return undefined;
}

let file: string | undefined | null = null;
let holders = 0;
let writing = false;
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  if (writing || file === undefined || file === null) return;
  writing = true;
  fs.writeFile(file, String(process.pid), (e) => {
    writing = false;
    if (e) stop(true);
  });
}

function stop(broken: boolean): void {
  clearInterval(timer);
  timer = undefined;
  if (broken) file = undefined;
}

/** Keeps the cgroup migration lock warm until the returned function is called (counted). */
export function warmCgroupMigration(): () => void {
  if (file === null) file = ownProcsFile();
  if (file === undefined) return () => undefined;
  if (holders++ === 0) {
    tick();
    timer = setInterval(tick, INTERVAL_MS);
    timer.unref();
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) stop(false);
  };
}
