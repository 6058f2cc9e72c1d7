import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { OutputChunk } from '../api/containers.js';
import type { ContainerIo } from '../runtime/runtime.js';
import type { LogWriter } from './logs/json-file.js';

/**
 * Carries a running container's output: every chunk goes to the json-file log (split into
 * lines, as the driver does) and to whoever is attached. Emits 'end' once both streams have
 * ended, that is, once the container exited and all its output was read.
 */
export class OutputPump extends EventEmitter {
  private open = 2;
  private readonly partial: Record<1 | 2, string> = { 1: '', 2: '' };
  private readonly subscribers = new Set<(chunk: OutputChunk) => void>();
  ended = false;

  constructor(
    readonly io: ContainerIo,
    private readonly log: LogWriter | undefined,
    private readonly tty = false,
  ) {
    super();
    this.follow(io.stdout, 1);
    this.follow(io.stderr, 2);
  }

  private follow(stream: Readable, n: 1 | 2): void {
    stream.on('data', (data: Buffer) => this.onData(n, data));
    stream.on('error', () => undefined);
    // A short-lived container may be gone, and its FIFO read to the end, before we listen.
    if (stream.closed) queueMicrotask(() => this.onClose(n));
    else stream.once('close', () => this.onClose(n));
  }

  private onData(n: 1 | 2, raw: Buffer): void {
    // A terminal's output passes two ptys (LXC's console inside, ours outside): until our
    // outer one is set -onlcr at start, line ends arrive as CR CR LF.
    const data = this.tty && raw.includes('\r\r\n') ? Buffer.from(raw.toString('latin1').replace(/\r\r\n/g, '\r\n'), 'latin1') : raw;
    const time = new Date().toISOString();
    for (const s of this.subscribers) s({ stream: n, data, time });
    if (!this.log) return;
    let text = this.partial[n] + data.toString('utf8');
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.log.write({ log: text.slice(0, nl + 1), stream: n === 1 ? 'stdout' : 'stderr', time });
      text = text.slice(nl + 1);
    }
    // Docker's json-file splits very long lines at 16 KiB.
    if (text.length >= 16384) {
      this.log.write({ log: text, stream: n === 1 ? 'stdout' : 'stderr', time });
      text = '';
    }
    this.partial[n] = text;
  }

  private onClose(n: 1 | 2): void {
    if (this.partial[n] && this.log) {
      this.log.write({ log: this.partial[n], stream: n === 1 ? 'stdout' : 'stderr', time: new Date().toISOString() });
      this.partial[n] = '';
    }
    if (--this.open === 0) {
      this.ended = true;
      this.log?.close();
      this.emit('end');
    }
  }

  /** CRI's ReopenContainerLog: kubelet moved the log file away, output goes on in a new one. */
  reopenLog(): void {
    this.log?.reopen?.();
  }

  subscribe(listener: (chunk: OutputChunk) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** Stops reading: the output stays in the FIFOs for the next daemon to read. */
  detach(): void {
    this.io.stdout.destroy();
    this.io.stderr.destroy();
  }

  /**
   * Ends the output of a run whose every process is gone while a holder of the FIFOs (the
   * runtime's helper) lives on: all the output is in the FIFOs already. libuv polls them
   * level-triggered and reads until empty, so one more loop turn reads it all.
   */
  async settle(): Promise<void> {
    if (this.ended) return;
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    if (this.ended) return;
    const ended = new Promise((resolve) => this.once('end', resolve));
    this.detach();
    await ended;
  }

  /** Waits for the end of output, giving up after `ms` (a stuck writer must not hang an exit). */
  drained(ms: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.detach();
        resolve();
      }, ms);
      this.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
