import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { openFifoReader } from '../../sys/fifo.js';

/** LXC's states as numbered in its monitor messages (lxc/state.h). */
const STATES = ['STOPPED', 'STARTING', 'RUNNING', 'STOPPING', 'ABORTING', 'FREEZING', 'FROZEN', 'THAWED'] as const;
export type LxcState = (typeof STATES)[number];

const RECORD = 264; // struct lxc_msg { int type; char name[256]; int value; }
const MSG_STATE = 0;
const MSG_EXIT_CODE = 2;

export interface MonitorMessage {
  name: string;
  state?: LxcState;
  /** Raw wait status of the container's init, as LXC reports it. */
  waitStatus?: number;
}

/** A raw wait status as a shell reports it: the exit code, or 128 + the killing signal. */
export function exitCodeOfWaitStatus(status: number): number {
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

export function decodeMonitorRecord(buf: Buffer): MonitorMessage | undefined {
  const type = buf.readInt32LE(0);
  const nul = buf.indexOf(0, 4);
  const name = buf.toString('utf8', 4, nul < 0 || nul > 260 ? 260 : nul);
  const value = buf.readInt32LE(260);
  if (type === MSG_STATE) return { name, state: STATES[value] };
  if (type === MSG_EXIT_CODE) return { name, waitStatus: value };
  return undefined;
}

/**
 * Reads LXC's monitor FIFO for an lxcpath: every lxc-start publishes its state changes
 * there. One reader for all containers replaces a waiting process per container.
 */
export class LxcMonitor extends EventEmitter {
  private socket: Readable | undefined;
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly lxcpath: string) {
    super();
    // One `waitFor` listener per container starting or stopping at once (20 pods in parallel
    // passed Node's default of 10 and printed a "possible leak" warning); each is removed when
    // its state comes or its time is up.
    this.setMaxListeners(0);
  }

  get fifoPath(): string {
    return path.join('/run/lxc', this.lxcpath, 'monitor-fifo');
  }

  /** Opens the FIFO; `mkfifo` is the caller's (Node has no mkfifo), via ensureFifo. */
  open(): void {
    // O_RDWR: the FIFO never reports EOF when the last lxc-start closes it.
    this.socket = openFifoReader(this.fifoPath, true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (e) => this.emit('error', e));
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= RECORD) {
      const msg = decodeMonitorRecord(this.pending.subarray(0, RECORD));
      this.pending = this.pending.subarray(RECORD);
      if (msg) this.emit('message', msg);
    }
  }

  /** Resolves with the first state of `name` among `states`, or rejects after `timeoutMs`. */
  waitFor(name: string, states: LxcState[], timeoutMs: number): Promise<LxcState> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: MonitorMessage): void => {
        if (m.name === name && m.state && states.includes(m.state)) {
          cleanup();
          resolve(m.state);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`container did not reach ${states.join(' or ')} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('message', onMessage);
      };
      this.on('message', onMessage);
    });
  }

  close(): void {
    this.socket?.destroy();
  }
}
