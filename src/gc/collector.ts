import fs from 'node:fs';
import path from 'node:path';
import type { GcLeftover } from '../api/system.js';
import { atomicWriteFileSync } from '../sys/atomic-write.js';
import type { Runtime } from '../runtime/runtime.js';
import { cgroupPids, removeCgroup } from '../sys/cgroup/tree.js';
import type { Logger } from '../sys/log.js';
import { unmount } from '../sys/mount.js';
import { classify, type StuckProcess } from './procfs.js';

/** What the collector needs to finish a container whose processes would not die. */
export interface GcEntry {
  id: string;
  name: string;
  since: string;
  /** Cgroup of the container relative to each hierarchy root, and of its LXC monitor. */
  cgroupPath: string;
  monitorCgroupPath: string;
  /** The container's helper (the LXC monitor): killing it lets zombies be reaped. */
  shimPid: number;
  shimStartTime: number;
  /** Host mount points to release (a block-device rootfs). */
  mounts: string[];
  /** Directories to delete once clean (runtime state, container dir of a removed container). */
  dirs: string[];
  /** Apply the restart policy / --rm when done; false for containers already removed. */
  removed: boolean;
  /** A removed container's image kind: its own rootfs (an OCI image's layer) goes once clean. */
  imageType?: string;
  processes: StuckProcess[];
  reported: boolean;
}

const INTERVAL_MS = 200;
const REPORT_AFTER_MS = 60_000;

/**
 * The garbage collector: containers whose processes survived SIGKILL (frozen, D state,
 * zombies held by a dead monitor) are retried here until nothing of them is left. The list
 * lives in <graph>/garbage.json, rewritten atomically on every change, so a daemon killed
 * at any moment resumes the work.
 */
export class GarbageCollector {
  private readonly entries = new Map<string, GcEntry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly file: string;

  constructor(
    graph: string,
    private readonly log: Logger,
    /** Kills what entries left, the runtime's way. */
    private readonly runtime: Pick<Runtime, 'killLeftovers'>,
    private readonly onEvent: (action: 'gc_enter' | 'gc_leave', entry: GcEntry) => void,
    private readonly onClean: (entry: GcEntry) => void,
  ) {
    this.file = path.join(graph, 'garbage.json');
  }

  /** Reads the persisted list; iSulad does this before restoring containers. */
  load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    const doc = JSON.parse(text) as { GcContainers?: GcEntry[] };
    for (const e of doc.GcContainers ?? []) this.entries.set(e.id, e);
    if (this.entries.size > 0) this.log.info(`garbage collector resumes ${this.entries.size} container(s)`);
  }

  private save(): void {
    atomicWriteFileSync(this.file, JSON.stringify({ GcContainers: [...this.entries.values()] }, null, 2));
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): GcEntry | undefined {
    return this.entries.get(id);
  }

  add(entry: Omit<GcEntry, 'processes' | 'reported' | 'since'>): GcEntry {
    const full: GcEntry = { ...entry, since: new Date().toISOString(), processes: classify(cgroupPids(entry.cgroupPath)), reported: false };
    this.entries.set(entry.id, full);
    this.save();
    this.onEvent('gc_enter', full);
    this.log.warn(`container ${entry.id} enters the garbage collector with ${full.processes.map((p) => `${p.pid}:${p.state}`).join(' ') || 'no processes'}`);
    this.kick();
    return full;
  }

  /** Marks an entry's container as removed by the user (rm -f while in GC). */
  markRemoved(id: string, dirs: string[], imageType?: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.removed = true;
    e.dirs.push(...dirs);
    if (imageType) e.imageType = imageType;
    this.save();
  }

  leftovers(): GcLeftover[] {
    return [...this.entries.values()].map((e) => ({
      id: e.id,
      name: e.name,
      since: e.since,
      processes: e.processes.map(({ pid, state, wchan }) => ({ pid, state, wchan })),
    }));
  }

  start(): void {
    this.kick();
  }

  private kick(): void {
    if (this.timer || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.round().finally(() => this.kick());
    }, INTERVAL_MS);
  }

  /** One pass over every entry: kill, thaw what is ours, reap, remove what can go. */
  private async round(): Promise<void> {
    for (const e of [...this.entries.values()]) {
      try {
        await this.collect(e);
      } catch (err) {
        this.log.warn(`garbage collector on ${e.id}: ${(err as Error).message}`);
      }
    }
  }

  private async collect(e: GcEntry): Promise<void> {
    // Only the container's own cgroup is ours to thaw; a frozen parent belongs to someone else.
    this.runtime.killLeftovers(e, { pid: e.shimPid, startTime: e.shimStartTime });
    const left = classify(cgroupPids(e.cgroupPath));
    const changed = JSON.stringify(left) !== JSON.stringify(e.processes);
    e.processes = left;
    if (left.length > 0) {
      if (!e.reported && Date.now() - Date.parse(e.since) > REPORT_AFTER_MS) {
        e.reported = true;
        this.log.error(`container ${e.id} still cannot be cleaned after a minute: ${left.map((p) => `${p.pid} ${p.state} ${p.wchan}`).join(', ')}`);
      }
      if (changed) this.save();
      return;
    }
    const stuckDirs = [...removeCgroup(e.cgroupPath), ...removeCgroup(e.monitorCgroupPath)];
    if (stuckDirs.length > 0) return;
    for (const m of e.mounts) await unmount(m);
    for (const d of e.dirs) fs.rmSync(d, { recursive: true, force: true });
    this.entries.delete(e.id);
    this.save();
    this.onEvent('gc_leave', e);
    this.log.info(`container ${e.id} left the garbage collector`);
    this.onClean(e);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
