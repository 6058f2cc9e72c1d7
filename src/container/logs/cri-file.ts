import { RotatingFileSink } from '../../sys/log.js';
import type { LogEntry } from './json-file.js';

/**
 * Kubernetes' CRI log format, one line per entry: `RFC3339NANO STREAM TAG TEXT`, TAG `F` for
 * a full line and `P` for a part of one (the pump splits lines longer than 16 KiB). Kubelet
 * reads and rotates the file at the log_path it gave.
 */
export class CriLogWriter {
  private sink: RotatingFileSink | undefined;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  write(entry: LogEntry): void {
    this.sink ??= new RotatingFileSink(this.file, this.maxBytes, this.maxFiles, 0o640);
    const full = entry.log.endsWith('\n');
    const text = full ? entry.log.slice(0, -1) : entry.log;
    this.sink.write(`${entry.time} ${entry.stream} ${full ? 'F' : 'P'} ${text}\n`);
  }

  /** Kubelet renamed the file (ReopenContainerLog): the next entry opens a new one at the path. */
  reopen(): void {
    this.sink?.close();
    this.sink = undefined;
  }

  close(): void {
    this.sink?.close();
  }
}
