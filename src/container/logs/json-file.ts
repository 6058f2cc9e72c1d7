import fs from 'node:fs';

/** One entry of iSulad's/Docker's json-file log driver. */
export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

/** Appends json-file entries to `file`, rotating to file.1 … file.(maxFiles-1) past maxBytes. */
export class JsonFileWriter {
  private fd: number;
  private size: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {
    this.fd = fs.openSync(file, 'a', 0o640);
    this.size = fs.fstatSync(this.fd).size;
  }

  write(entry: LogEntry): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`);
    if (this.maxBytes > 0 && this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
    fs.writeSync(this.fd, line);
    this.size += line.length;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      try {
        fs.renameSync(i === 1 ? this.file : `${this.file}.${i - 1}`, `${this.file}.${i}`);
      } catch {
        // an older generation that does not exist yet
      }
    }
    if (this.maxFiles <= 1) fs.rmSync(this.file, { force: true });
    this.fd = fs.openSync(this.file, 'w', 0o640);
    this.size = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
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
