/**
 * Where a layer is unpacked: in a worker thread when this build has one, else on the calling
 * thread. A pull's bytes cost the daemon's main thread gunzip calls, two sha256s, the
 * checking tar pass and the pipe writes to GNU tar, while the second core idled: in a worker
 * the main thread only receives the blob and hands its buffers over.
 *
 * Threads are kept in a small pool: starting one costs 30 ms or more (a Node environment),
 * so a pull warms as many as it downloads at once (`warmUnpackThreads`) while it fetches the
 * manifest, and a thread idle for IDLE_MS ends (the daemon's memory returns to what it was).
 *
 * The thread's code: in the single executable, a bundle of unpack-worker.ts that build.sh
 * gives the daemon's bundle as the string __ISULAD_UNPACK_WORKER__; from tsc's output
 * (tests, benchmarks) the compiled unpack-worker.js beside this file. Bun's build has neither
 * and unpacks on its main thread.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EngineError, type ErrorKind, type ExitCodeValue } from '../../../api/errors.js';
import type { FromWorker, ToWorker } from './unpack-protocol.js';
import { type UnpackJob, type UnpackResult, unpackLayer } from './unpack.js';

declare const __ISULAD_UNPACK_WORKER__: string | undefined;

/** Bytes posted and not yet taken by the thread: the blob's stream pauses above HIGH, resumes below LOW. */
const HIGH = 8 * 1024 * 1024;
const LOW = 2 * 1024 * 1024;
/** Idle threads kept, and for how long. */
const MAX_IDLE = 3;
const IDLE_MS = 30_000;

type Source = { code: string } | { url: URL };
let source: Source | null | undefined;

function workerSource(): Source | null {
  if (source !== undefined) return source;
  if (typeof __ISULAD_UNPACK_WORKER__ === 'string') source = { code: __ISULAD_UNPACK_WORKER__ };
  else if (process.versions.bun !== undefined) source = null;
  else {
    const url = new URL('./unpack-worker.js', import.meta.url);
    source = url.protocol === 'file:' && fs.existsSync(fileURLToPath(url)) ? { url } : null;
  }
  return source;
}

interface Thread {
  worker: Worker;
  /** Ends it once idle for IDLE_MS. */
  timer?: NodeJS.Timeout;
  /** The job it runs: where its messages go. */
  onMessage?: (m: FromWorker) => void;
  onGone?: (e: Error) => void;
}

const idle: Thread[] = [];
let jobs = 0;

function spawnThread(from: Source): Thread {
  // No flags of the process's own (`--input-type`, `-e`...): they would refuse the thread's code.
  const worker = 'code' in from ? new Worker(from.code, { eval: true, execArgv: [] }) : new Worker(from.url, { execArgv: [] });
  const t: Thread = { worker };
  worker.on('message', (m: FromWorker) => t.onMessage?.(m));
  const gone = (e: Error): void => {
    const i = idle.indexOf(t);
    if (i >= 0) idle.splice(i, 1);
    clearTimeout(t.timer);
    t.onGone?.(e);
  };
  worker.on('error', gone);
  worker.on('exit', (code) => gone(new Error(`the layer's unpacking thread exited (code ${code})`)));
  return t;
}

function release(t: Thread): void {
  t.onMessage = undefined;
  t.onGone = undefined;
  // An idle thread does not keep the process alive; a busy one does (acquire).
  t.worker.unref();
  if (idle.length >= MAX_IDLE) {
    void t.worker.terminate();
    return;
  }
  idle.push(t);
  t.timer = setTimeout(() => {
    idle.splice(idle.indexOf(t), 1);
    void t.worker.terminate();
  }, IDLE_MS).unref();
}

function acquire(from: Source): Thread {
  const t = idle.pop() ?? spawnThread(from);
  clearTimeout(t.timer);
  t.timer = undefined;
  t.worker.ref();
  return t;
}

/** Starts threads (up to `n` idle ones) for layers about to come, so their start overlaps the manifest's fetch. */
export function warmUnpackThreads(n: number): void {
  const from = workerSource();
  if (!from) return;
  while (idle.length < Math.min(n, MAX_IDLE)) release(spawnThread(from));
}

/**
 * unpackLayer, in a worker thread where there is one. Same contract: tar has exited when it
 * settles. `ownChunks`: each chunk of `src` is a buffer of its own that nothing else holds
 * once emitted (an http response body: the parser copies each chunk into a fresh buffer), so
 * it is handed to the thread rather than copied; the buffer is unusable here afterwards.
 */
export function unpackLayerOffThread(
  opts: UnpackJob & { src: Readable; ownChunks?: boolean; onBytes?: (compressedBytes: number) => void },
): Promise<UnpackResult> {
  const from = workerSource();
  const { src, onBytes, ownChunks, ...spec } = opts;
  if (!from) return unpackLayer({ ...spec, src, ...(onBytes ? { onBytes } : {}) });
  const t = acquire(from);
  const job = ++jobs;
  const post = (m: ToWorker, transfer?: ArrayBuffer[]): void => t.worker.postMessage(m, transfer);
  return new Promise<UnpackResult>((resolve, reject) => {
    let inflight = 0;
    let sourceError: unknown;
    let settled = false;
    const settle = (error: unknown, result?: UnpackResult, reusable = true): void => {
      if (settled) return;
      settled = true;
      src.off('data', onData);
      if (error !== undefined) src.destroy();
      if (reusable) release(t);
      if (error !== undefined) reject(sourceError ?? error);
      else resolve(result!);
    };
    const onData = (chunk: Buffer): void => {
      inflight += chunk.length;
      onBytes?.(chunk.length);
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
      const data = ownChunks && whole ? chunk : new Uint8Array(chunk);
      post({ type: 'chunk', job, data }, [data.buffer as ArrayBuffer]);
      if (inflight >= HIGH) src.pause();
    };
    t.onMessage = (m) => {
      if (m.job !== job) return;
      if (m.type === 'consumed') {
        inflight -= m.n;
        if (inflight <= LOW && src.isPaused() && !settled) src.resume();
      } else if (m.type === 'done') settle(undefined, m.result);
      else settle(m.kind ? new EngineError(m.exitCode as ExitCodeValue, m.message, m.kind as ErrorKind) : new Error(m.message));
    };
    t.onGone = (e) => settle(e, undefined, false);
    post({ type: 'start', job, spec });
    src.on('data', onData);
    src.on('end', () => post({ type: 'end', job }));
    // After an error the thread kills tar and answers 'failed'; the source's error is the one reported.
    src.on('error', (e) => {
      sourceError = e;
      post({ type: 'abort', job });
    });
  });
}
