import fs from 'node:fs';
import { RotatingFileSink } from '../../sys/log.js';

/** One entry of iSulad's/Docker's json-file log driver. */
export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/**
 * Appends json-file entries to `file`, rotating to file.1 … file.(maxFiles-1) past maxBytes.
 * The file is opened at the first entry: many containers never write one, and a start
 * spares the calls.
 */
export class JsonFileWriter {
  private sink: RotatingFileSink | undefined;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  write(entry: LogEntry): void {
    this.sink ??= new RotatingFileSink(this.file, this.maxBytes, this.maxFiles, 0o640);
    this.sink.write(`${JSON.stringify(entry)}\n`);
  }

  close(): void {
    this.sink?.close();
  }
}

/** All entries still on disk, oldest first (rotated files, then the current one). */
export function readLogEntries(file: string, maxFiles: number): LogEntry[] {
  const entries: LogEntry[] = [];
  for (let i = Math.max(1, maxFiles) - 1; i >= 0; i--) {
    let text: string;
    try {
      text = fs.readFileSync(i === 0 ? file : `${file}.${i}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // a torn last line after a crash: skip it
      }
    }
  }
  return entries;
}
