import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

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

/** Makes the FIFOs of `files` that do not exist yet, with one mkfifo, off the event loop. */
export async function makeFifos(files: string[], mode = 0o600): Promise<void> {
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  const errors: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('mkfifo', ['-m', mode.toString(8), ...missing], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => errors.push(d));
    child.on('error', reject).on('close', resolve);
  });
  if (code !== 0) throw new Error(`mkfifo failed: ${Buffer.concat(errors).toString().trim()}`);
}

/**
 * Opens a FIFO for reading through libuv's poller (never the thread pool). The caller
 * makes sure a writer holds it, or the stream ends at once.
 */
export function openFifoReader(file: string): net.Socket {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: true, writable: false });
}

/** Opens a FIFO for writing without blocking: O_RDWR never waits for a reader. */
export function openFifoWriter(file: string): net.Socket {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}
