import fs from 'node:fs';
import { atomicWriteFileSync } from '../../sys/atomic-write.js';
import type { Logger } from '../../sys/log.js';
import { processAlive, readProcStat } from '../../sys/procfs.js';
import { settlesWithin, waitUntil } from '../../sys/wait.js';
import type { StartedContainer } from '../runtime.js';
import type { LxcLayout } from './layout.js';

/** How often the end of a helper this daemon did not launch is looked for (a read of /proc each time). */
const ADOPTED_POLL_MS = 2;

/**
 * The helper (lxc-start) of each container's current run, watched so that its end is
 * recorded as an exit even when LXC's post-stop hook did not run.
 */
export class RunTracker {
  /** The lxc-start of each running container's current run, by container id. */
  private readonly monitorPids = new Map<string, number>();
  /** Those of them this daemon did not start (found running at restore): polled, not waited for. */
  private readonly adopted = new Map<string, StartedContainer>();
  private adoptedTimer: NodeJS.Timeout | undefined;
  /** The end of each lxc-start this daemon launched and has not yet seen end, by pid. */
  private readonly ends = new Map<number, Promise<void>>();

  constructor(
    private readonly layout: LxcLayout,
    private readonly log: Logger,
  ) {}

  /** A run this daemon launched: its child's end is reported to exited(), and `ended` settles then. */
  launched(id: string, pid: number, ended: Promise<void>): void {
    this.monitorPids.set(id, pid);
    this.adopted.delete(id);
    this.ends.set(pid, ended);
    void ended.finally(() => this.ends.delete(pid));
  }

  /**
   * Whether the helper `pid` (started at `startTime`) ends within `timeoutMs`. One this daemon
   * launched is its child, whose end Node reports: no polling (20 pods stopping at once read
   * /proc every 2 ms each before). One it adopted is polled.
   */
  async helperEnded(pid: number, startTime: number, timeoutMs: number): Promise<boolean> {
    const end = this.ends.get(pid);
    // A child of ours under that pid that is not the helper asked about: that one has ended.
    if (end) return readProcStat(pid)?.startTime !== startTime || (await settlesWithin(end, timeoutMs));
    return waitUntil(() => !processAlive(pid, startTime), timeoutMs, ADOPTED_POLL_MS);
  }

  /** A run found running at restore: its helper is polled. */
  adopt(id: string, started: StartedContainer): void {
    this.monitorPids.set(id, started.shimPid);
    this.adopted.set(id, started);
    this.adoptedTimer ??= setInterval(() => {
      for (const [cid, s] of this.adopted) if (!processAlive(s.shimPid, s.shimStartTime)) this.exited(cid, s.shimPid, 137);
      if (this.adopted.size === 0) {
        clearInterval(this.adoptedTimer);
        this.adoptedTimer = undefined;
      }
    }, 1000).unref();
  }

  /** The run is abandoned or its container goes: an end of its helper seen from now on records no exit. */
  forget(id: string): void {
    this.monitorPids.delete(id);
    this.adopted.delete(id);
  }

  /**
   * lxc-start ended. Normally its post-stop hook has recorded the exit; killed from outside it
   * ran no hook, and the exit is recorded here (128 + signal, as a shell reports it), unless
   * a newer run has replaced it meanwhile.
   */
  exited(id: string, pid: number, code: number): void {
    if (this.monitorPids.get(id) !== pid) return;
    this.forget(id);
    const file = this.layout.exitFile(id);
    try {
      if (!fs.existsSync(file)) atomicWriteFileSync(file, `${code}\n`, 0o600);
    } catch (e) {
      // Disk full: the exit is found at restore anyway (the helper is gone).
      this.log.error(`recording the exit of ${id}: ${(e as Error).message}`);
    }
  }
}
