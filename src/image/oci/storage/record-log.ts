import fsp from 'node:fs/promises';
import path from 'node:path';
import { atomicWriteFile } from '../../../sys/atomic-write.js';
import { readFileInRoot } from '../../../sys/in-root.js';
import { SharedFlush } from '../../../sys/shared-flush.js';

/** One line of the log: a record added, or the record of an id removed. */
type Entry<T> = { add: T } | { remove: string };

/** The log is rewritten with only the live records once it is this large and 4 times what the last rewrite wrote. */
const COMPACT_MIN_BYTES = 256 * 1024;

/**
 * Records kept as an append-only log of JSON lines, for records made and removed one at a time
 * by calls that must not wait for each other (the container layers of creates): a record is
 * durable once its line is appended and the file fdatasynced, one flush deep, where rewriting a
 * whole index is two in a row (temp file, fsync, rename, directory fsync). Lines asked for
 * while a flush runs go together in the next (one write, one fdatasync for all of them).
 *
 * A line cut short (a kill or power cut mid-append) does not parse (a JSON object ends with its
 * last byte) and is skipped; nothing is ever appended after it: the store's open (`rewrite`)
 * and the flush after a failed append replace the file with the live records (atomically), as
 * does an append once the file has grown to 4 times what the last rewrite wrote.
 */
export class RecordLog<T extends { id: string }> {
  private handle: fsp.FileHandle | undefined;
  private size = 0;
  private compactAt = COMPACT_MIN_BYTES;
  /** Lines not yet handed to a flush: the next one takes them all. */
  private lines: string[] = [];
  private readonly flusher = new SharedFlush(() => {
    const lines = this.lines;
    this.lines = [];
    return this.flush(lines);
  });
  /** A failed append may have left part of a line: the next flush replaces the file. */
  private damaged = false;

  /** `live` gives the records the log must hold (those added and not removed, in memory). */
  constructor(
    readonly file: string,
    private readonly live: () => readonly T[],
  ) {}

  /**
   * The records the file holds (none if there is none), read bounded and without following a
   * symlink; `valid` checks each (a line that fails is counted as torn).
   */
  static read<T extends { id: string }>(file: string, maxBytes: number, valid: (value: unknown) => T | undefined): { records: Map<string, T>; torn: number } {
    const text = readFileInRoot(path.dirname(file), path.basename(file), maxBytes) ?? '';
    const records = new Map<string, T>();
    let torn = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let entry: Entry<unknown>;
      try {
        entry = JSON.parse(line) as Entry<unknown>;
      } catch {
        torn++;
        continue;
      }
      if (typeof entry === 'object' && entry !== null && 'remove' in entry && typeof entry.remove === 'string') {
        records.delete(entry.remove);
        continue;
      }
      const record = typeof entry === 'object' && entry !== null && 'add' in entry ? valid(entry.add) : undefined;
      if (record) records.set(record.id, record);
      else torn++;
    }
    return { records, torn };
  }

  /** Replaces the file with the live records (atomically, durably) and opens it for appends. */
  async rewrite(): Promise<void> {
    const text = this.live()
      .map((r) => `${JSON.stringify({ add: r })}\n`)
      .join('');
    await this.handle?.close();
    this.handle = undefined;
    await atomicWriteFile(this.file, text, 0o600);
    this.handle = await fsp.open(this.file, 'a', 0o600);
    this.size = Buffer.byteLength(text);
    this.compactAt = Math.max(COMPACT_MIN_BYTES, 4 * this.size);
    this.damaged = false;
  }

  /** Settles once the record is on disk. */
  add(record: T): Promise<void> {
    return this.append({ add: record });
  }

  /** Settles once the removal is on disk. */
  remove(id: string): Promise<void> {
    return this.append({ remove: id });
  }

  private append(entry: Entry<T>): Promise<void> {
    this.lines.push(`${JSON.stringify(entry)}\n`);
    return this.flusher.run();
  }

  private async flush(lines: string[]): Promise<void> {
    const data = lines.join('');
    const bytes = Buffer.byteLength(data);
    // `live` already holds the records of these lines, and no longer those they remove.
    if (this.damaged || !this.handle || this.size + bytes > this.compactAt) return this.rewrite();
    try {
      // writeFile loops until every byte is written (write may write part); O_APPEND puts them at the end.
      await this.handle.writeFile(data);
      await this.handle.datasync();
      this.size += bytes;
    } catch (e) {
      this.damaged = true;
      throw e;
    }
  }
}
