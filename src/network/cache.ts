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
    await atomicWriteFile(this.file(rec.podId, rec.ifName), JSON.stringify(rec), 0o600);
  }

  /** The record, or undefined when there is none; an unreadable one is an error (DEL must not guess). */
  async read(podId: string, ifName: string): Promise<CacheRecord | undefined> {
    const file = this.file(podId, ifName);
    if (!fs.existsSync(file)) return undefined;
    const rec = JSON.parse((await readBoundedRegularFile(file, MAX_CACHE_BYTES)).toString('utf8')) as CacheRecord;
    if (rec?.kind !== 'cni-result/v1' || rec.podId !== podId || !rec.list || !Array.isArray(rec.list.plugins)) {
      throw new Error(`${file}: not a CNI result record`);
    }
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
    fs.rmSync(this.file(podId, ifName), { force: true });
  }
}
