import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { bunFifoReader } from './fifo-bun.js';

/** Node has no mkfifo(3); this runs once per daemon start, never on a hot path. */
export function ensureFifo(file: string, mode = 0o600): void {
  try {
    if (fs.statSync(file).isFIFO()) return;
    fs.rmSync(file);
  } catch {
    // absent: create below
  }
  const r = spawnSync('mkfifo', ['-m', mode.toString(8), file]);
  if (r.status !== 0) throw new Error(`mkfifo ${file} failed: ${r.stderr.toString().trim()}`);
}

/**
 * FIFOs made ahead, many per mkfifo, and renamed into place when wanted: Node has no
 * mkfifo(3), and a process per container start is a fork of the whole daemon (4 ms here).
 * The pool lives in its own directory on the same filesystem as the FIFOs' destinations.
 */
export class FifoPool {
  private readonly spare: string[] = [];
  private refill: Promise<void> | undefined;
  private made = 0;

  constructor(
    private readonly dir: string,
    private readonly batch = 32,
    private readonly mode = 0o600,
  ) {
    // A previous daemon's spares: their names could clash with ours.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Puts a FIFO at each of `files` that has none yet. */
  async place(files: string[]): Promise<void> {
    for (const file of files) {
      if (fs.existsSync(file)) continue;
      while (this.spare.length === 0) await this.fill();
      fs.renameSync(this.spare.pop()!, file);
    }
  }

  /** Makes the next batch (one at a time); called ahead, so that the first start does not wait. */
  fill(): Promise<void> {
    this.refill ??= this.make().finally(() => (this.refill = undefined));
    return this.refill;
  }

  private async make(): Promise<void> {
    const names = Array.from({ length: this.batch }, () => path.join(this.dir, String(this.made++)));
    const errors: Buffer[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('mkfifo', ['-m', this.mode.toString(8), ...names], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d: Buffer) => errors.push(d));
      child.on('error', reject).on('close', resolve);
    });
    if (code !== 0) throw new Error(`mkfifo failed: ${Buffer.concat(errors).toString().trim()}`);
    this.spare.push(...names);
  }
}

/**
 * Opens a FIFO for reading through libuv's poller (never the thread pool). The caller
 * makes sure a writer holds it, or the stream ends at once; `readWrite` opens it O_RDWR
 * instead, so that it never ends. Under Bun, whose node:net does not read a FIFO, Bun's
 * own reader (fifo-bun.ts).
 */
export function openFifoReader(file: string, readWrite = false): Readable {
  const fd = fs.openSync(file, (readWrite ? fs.constants.O_RDWR : fs.constants.O_RDONLY) | fs.constants.O_NONBLOCK);
  return process.versions.bun ? bunFifoReader(fd) : new net.Socket({ fd, readable: true, writable: false });
}

/** Opens a FIFO for writing without blocking: O_RDWR never waits for a reader. */
export function openFifoWriter(file: string): net.Socket {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}
