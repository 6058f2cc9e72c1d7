import fs from 'node:fs';
import path from 'node:path';
import { notFound } from '../api/errors.js';
import { atomicWriteFile, mkdirDurable } from '../sys/atomic-write.js';
import { readBoundedRegularFileSync } from '../sys/bounded-read.js';
import type { Logger } from '../sys/log.js';
import { PodLocks } from './locks.js';
import type { PodRecord } from './record.js';

/** A pod record is a few KiB; labels and annotations are bounded by kubelet's own limits. */
const RECORD_MAX_BYTES = 1024 * 1024;
const ID_RE = /^[0-9a-f]{64}$/;

/** The pods, in memory and one folder each under `<graph>/pods`. */
export class PodStore {
  private readonly pods = new Map<string, PodRecord>();
  /** Each pod's record writes, run in the order asked: a delete never races a save still under way. */
  private readonly writes = new PodLocks();

  constructor(readonly root: string) {}

  dirOf(id: string): string {
    return path.join(this.root, id);
  }

  /** Reads every pod folder; a folder without a readable record is one a RunPodSandbox died in. */
  load(log: Logger): { loaded: PodRecord[]; broken: string[] } {
    mkdirDurable(this.root);
    const broken: string[] = [];
    for (const id of fs.readdirSync(this.root)) {
      if (!ID_RE.test(id)) continue;
      try {
        const record = JSON.parse(readBoundedRegularFileSync(path.join(this.dirOf(id), 'pod.json'), RECORD_MAX_BYTES).toString('utf8')) as PodRecord;
        if (record.id !== id) throw new Error('the record names another pod');
        this.pods.set(id, record);
      } catch (e) {
        log.warn(`pod ${id}: unreadable record (${(e as Error).message}); removing its leftovers`);
        broken.push(id);
      }
    }
    return { loaded: [...this.pods.values()], broken };
  }

  save(record: PodRecord): Promise<void> {
    return this.writes.run(record.id, async () => {
      const dir = this.dirOf(record.id);
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      await atomicWriteFile(path.join(dir, 'pod.json'), JSON.stringify(record, null, 2), 0o600);
      this.pods.set(record.id, record);
    });
  }

  delete(id: string): Promise<void> {
    return this.writes.run(id, async () => {
      this.pods.delete(id);
      await fs.promises.rm(this.dirOf(id), { recursive: true, force: true });
    });
  }

  /** By full id or a unique prefix of it, as crictl accepts. */
  find(ref: string): PodRecord | undefined {
    const exact = this.pods.get(ref);
    if (exact || ref === '') return exact;
    const matches = [...this.pods.values()].filter((p) => p.id.startsWith(ref));
    return matches.length === 1 ? matches[0] : undefined;
  }

  get(ref: string): PodRecord {
    const pod = this.find(ref);
    if (!pod) throw notFound(`pod sandbox ${ref} not found`);
    return pod;
  }

  all(): PodRecord[] {
    return [...this.pods.values()];
  }
}
