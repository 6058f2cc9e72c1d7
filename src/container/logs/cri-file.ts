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

const CRI_LINE_RE = /^(\S+) (stdout|stderr) ([FP])(?: (.*))?$/s;

/** A line of the CRI format back as an entry (`isula logs` of a CRI container); a malformed one throws. */
export function parseCriLine(line: string): LogEntry {
  const m = CRI_LINE_RE.exec(line);
  if (!m) throw new Error('not a CRI log line');
  return { time: m[1]!, stream: m[2] as LogEntry['stream'], log: `${m[4] ?? ''}${m[3] === 'F' ? '\n' : ''}` };
}
