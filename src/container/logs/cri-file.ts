import { type LogEntry, LogFileWriter } from './json-file.js';

/**
 * Kubernetes' CRI log format, one line per entry: `RFC3339NANO STREAM TAG TEXT`, TAG `F` for
 * a full line and `P` for a part of one (the pump splits lines longer than 16 KiB). Kubelet
 * reads and rotates the file at the log_path it gave (ReopenContainerLog calls `reopen`).
 */
export class CriLogWriter extends LogFileWriter {
  protected format(entry: LogEntry): string {
    const full = entry.log.endsWith('\n');
    const text = full ? entry.log.slice(0, -1) : entry.log;
    return `${entry.time} ${entry.stream} ${full ? 'F' : 'P'} ${text}\n`;
  }
}
