import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from './dirs.js';

/** iSulad's log levels, most severe first. */
export const LOG_LEVELS = ['FATAL', 'ALERT', 'CRIT', 'ERROR', 'WARN', 'NOTICE', 'INFO', 'DEBUG', 'TRACE'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export interface LogSink {
  write(line: string): void;
}

export class StdoutSink implements LogSink {
  write(line: string): void {
    process.stdout.write(line);
  }
}

/** Appends to a file and rotates it as `name.1 … name.(maxFiles-1)` once it passes maxBytes. */
export class RotatingFileSink implements LogSink {
  private fd: number;
  private size: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
    private readonly mode = 0o600,
  ) {
    makeDirs(path.dirname(file));
    this.fd = fs.openSync(file, 'a', mode);
    this.size = fs.fstatSync(this.fd).size;
  }

  write(line: string): void {
    const bytes = Buffer.from(line);
    if (this.size > 0 && this.size + bytes.length > this.maxBytes) this.rotate();
    fs.writeSync(this.fd, bytes);
    this.size += bytes.length;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      try {
        fs.renameSync(from, `${this.file}.${i}`);
      } catch {
        // a missing older generation is normal
      }
    }
    if (this.maxFiles <= 1) fs.rmSync(this.file, { force: true });
    this.fd = fs.openSync(this.file, 'w', this.mode);
    this.size = 0;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  child(module: string): Logger;
}

class LevelLogger implements Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly threshold: number,
    private readonly module: string,
  ) {}

  private log(level: LogLevel, message: string): void {
    if (LOG_LEVELS.indexOf(level) > this.threshold) return;
    this.sink.write(`${new Date().toISOString()} ${level.padEnd(6)} [${this.module}] ${message}\n`);
  }

  error(message: string): void {
    this.log('ERROR', message);
  }
  warn(message: string): void {
    this.log('WARN', message);
  }
  info(message: string): void {
    this.log('INFO', message);
  }
  debug(message: string): void {
    this.log('DEBUG', message);
  }
  child(module: string): Logger {
    return new LevelLogger(this.sink, this.threshold, module);
  }
}

export function createLogger(sink: LogSink, level: LogLevel, module = 'isulad'): Logger {
  return new LevelLogger(sink, LOG_LEVELS.indexOf(level), module);
}

/** A logger that drops everything, for code run outside the daemon (tests, one-shot tools). */
export const silentLogger: Logger = createLogger({ write: () => undefined }, 'FATAL');
