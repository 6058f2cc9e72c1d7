/** The messages between unpack-thread.ts (the daemon's main thread) and unpack-worker.ts. */
import type { UnpackJob, UnpackResult } from './unpack.js';

/** Every message names its job: a thread unpacks several layers at once. */
export type ToWorker =
  | { type: 'start'; job: number; spec: UnpackJob }
  /** The next bytes of the blob, the chunks that came in one turn of the event loop; their buffers are transferred. */
  | { type: 'chunk'; job: number; data: Uint8Array[] }
  /** The blob ended. */
  | { type: 'end'; job: number }
  /** The blob's stream failed (the pull cancelled, the connection lost): stop, kill tar, report. */
  | { type: 'abort'; job: number };

export type FromWorker =
  /** Bytes taken off the thread's queue (every 256 KiB, and whenever it is empty): the main thread's flow control. */
  | { type: 'consumed'; job: number; n: number }
  | { type: 'done'; job: number; result: UnpackResult }
  /** An EngineError's fields (kind undefined: any other error), after tar has exited. */
  | { type: 'failed'; job: number; message: string; kind?: string; exitCode?: number };
