import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile, fsyncDir, removeStaleTemps } from '../sys/atomic-write.js';
import { readBoundedRegularFile } from '../sys/bounded-read.js';
import type { NetworkList } from './config.js';

/*
 * The result cache (libcni's <cacheDir>/results): per pod and interface, the network config
 * an ADD ran with, its runtime arguments and, once done, the result. It is written before the
 * first plugin runs, so a daemon killed in the middle of an ADD still knows what to DEL, and
 * DEL runs from it rather than from the conf dir, which may have changed since.
 */

const MAX_CACHE_BYTES = 4 * 1024 * 1024;

export interface CacheRecord {
  kind: 'cni-result/v1';
  podId: string;
  ifName: string;
  netns: string;
  args: string;
  runtimeArgs: Record<string, unknown>;
  list: NetworkList;
  /** Null while the ADD is under way (or was cut short). */
  result: unknown;
}

export class ResultCache {
  private readonly dir: string;
  /**
   * What this daemon wrote or read, by file: DEL and the ADD's check read it from here instead
   * of the disk (a round trip on the thread pool each, behind the fsyncs of 20 pods at once).
   * The disk stays the truth a restarted daemon reads; an entry is set only once its write is
   * durable and dropped when a write fails, so it never says what the disk does not.
   */
  private readonly known = new Map<string, CacheRecord>();
  /** At the daemon's start: a record a crash cut short is a temp file, never the record (its ADD never ran). */
  constructor(cacheDir: string) {
    this.dir = path.join(cacheDir, 'results');
    removeStaleTemps(this.dir);
  }

  private file(podId: string, ifName: string): string {
    return path.join(this.dir, `${podId}-${ifName}.json`);
  }

  async write(rec: CacheRecord): Promise<void> {
    if (!fs.existsSync(this.dir)) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fsyncDir(path.dirname(this.dir));
    }
    const file = this.file(rec.podId, rec.ifName);
    this.known.delete(file);
    await atomicWriteFile(file, JSON.stringify(rec), 0o600);
    // A copy: the caller goes on filling its record in.
    this.known.set(file, { ...rec });
  }

  /** The record, or undefined when there is none; an unreadable one is an error (DEL must not guess). */
  async read(podId: string, ifName: string): Promise<CacheRecord | undefined> {
    const file = this.file(podId, ifName);
    const known = this.known.get(file);
    if (known) return { ...known };
    if (!fs.existsSync(file)) return undefined;
    const rec = JSON.parse((await readBoundedRegularFile(file, MAX_CACHE_BYTES)).toString('utf8')) as CacheRecord;
    if (rec?.kind !== 'cni-result/v1' || rec.podId !== podId || !rec.list || !Array.isArray(rec.list.plugins)) {
      throw new Error(`${file}: not a CNI result record`);
    }
    this.known.set(file, { ...rec });
    return rec;
  }

  /** The pods and interfaces that have a record, from the files' names. */
  entries(): { podId: string; ifName: string }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const m = /^(.+)-([A-Za-z0-9_.-]{1,15})\.json$/.exec(n);
      return m ? [{ podId: m[1]!, ifName: m[2]! }] : [];
    });
  }

  remove(podId: string, ifName: string): void {
    const file = this.file(podId, ifName);
    this.known.delete(file);
    fs.rmSync(file, { force: true });
  }
}
