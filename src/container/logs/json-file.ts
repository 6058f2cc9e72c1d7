import fs from 'node:fs';
import type readline from 'node:readline';
import { RotatingFileSink } from '../../sys/log.js';

/** One entry of iSulad's/Docker's json-file log driver. */
export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/** Where a running container's output lines go: the json-file log or CRI's. */
export interface LogWriter {
  write(entry: LogEntry): void;
  close(): void;
  /** Starts a new file at the path (the old one was moved away by log rotation). */
  reopen?(): void;
}

/**
 * Appends one formatted line per entry to `file`, rotating to file.1 … file.(maxFiles-1) past
 * maxBytes. The file is opened at the first entry: many containers never write one, and a
 * start spares the calls.
 */
export abstract class LogFileWriter {
  private sink: RotatingFileSink | undefined;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  protected abstract format(entry: LogEntry): string;

  write(entry: LogEntry): void {
    this.sink ??= new RotatingFileSink(this.file, this.maxBytes, this.maxFiles, 0o640);
    this.sink.write(this.format(entry));
  }

  /** The file was moved away: the next entry opens a new one at the path. */
  reopen(): void {
    this.sink?.close();
    this.sink = undefined;
  }

  close(): void {
    this.sink?.close();
  }
}

/** Docker's json-file format. */
export class JsonFileWriter extends LogFileWriter {
  protected format(entry: LogEntry): string {
    return `${JSON.stringify(entry)}\n`;
  }
}

/** The lines of the rotated files, then the current one, oldest first; read a chunk at a time. */
async function* logLines(file: string, maxFiles: number): AsyncGenerator<string> {
  // Loaded on the first log read, not at daemon start: node:readline (with readline/promises)
  // would sit in every idle daemon's heap for the few that are asked for logs.
  const { createInterface } = process.getBuiltinModule('node:readline') as typeof readline;
  for (let i = Math.max(1, maxFiles) - 1; i >= 0; i--) {
    const input = fs.createReadStream(i === 0 ? file : `${file}.${i}`);
    try {
      for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line) yield line;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    } finally {
      input.destroy();
    }
  }
}

/**
 * The entries still on disk, oldest first, the last `tail` of them (all when negative). Read
 * as a stream (twice with a tail: once to count), so neither memory nor the event loop pays
 * for the size of the log.
 */
export async function* readLogEntries(
  file: string,
  maxFiles: number,
  tail = -1,
  parse: (line: string) => LogEntry = (line) => JSON.parse(line) as LogEntry,
): AsyncGenerator<LogEntry> {
  let skip = 0;
  if (tail >= 0) {
    let count = 0;
    for await (const _ of logLines(file, maxFiles)) count++;
    skip = Math.max(0, count - tail);
  }
  for await (const line of logLines(file, maxFiles)) {
    if (skip > 0) {
      skip--;
      continue;
    }
    try {
      yield parse(line);
    } catch {
      // a torn last line after a crash: skip it
    }
  }
}
