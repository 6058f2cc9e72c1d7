/**
 * Where a layer is unpacked: in a worker thread when this build has one, else on the calling
 * thread. A pull's bytes cost the daemon's main thread gunzip calls, two sha256s, the
 * checking tar pass and the pipe writes to GNU tar, while the second core idled: in a worker
 * the main thread only receives the blob and hands its buffers over.
 *
 * One thread unpacks every layer in flight (two cores: more threads would add no core, only
 * their start, 30 ms or more of CPU each for a Node environment). A pull starts it
 * (`warmUnpackThread`) while it fetches the manifest; idle for IDLE_MS it ends, and the
 * daemon's memory returns to what it was.
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
import { holdYoungGeneration } from '../../../sys/young-generation.js';
import { EngineError, type ErrorKind, type ExitCodeValue } from '../../../api/errors.js';
import type { FromWorker, ToWorker } from './unpack-protocol.js';
import { type UnpackJob, type UnpackResult, unpackLayer } from './unpack.js';

declare const __ISULAD_UNPACK_WORKER__: string | undefined;

/** Bytes posted and not yet taken by the thread: the blob's stream pauses above HIGH, resumes below LOW. */
const HIGH = 1024 * 1024;
const LOW = 256 * 1024;
/** Chunks posted together, at most. */
const BATCH = 256 * 1024;
/**
 * The thread's young generation: small, so the wrappers of the buffers it is done with are
 * collected often (their memory is outside the heap, and a large young generation let ~100 MB
 * of them wait for a collection).
 */
const YOUNG_MB = 2;
/** How long the thread is kept once idle. */
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

/** The one unpacking thread (while it lives): its jobs, by id. */
interface Thread {
  worker: Worker;
  jobs: Map<number, { onMessage(m: FromWorker): void; onGone(e: Error): void }>;
  timer?: NodeJS.Timeout;
}

let thread: Thread | undefined;
let jobIds = 0;

function theThread(from: Source): Thread {
  if (thread) return thread;
  // No flags of the process's own (`--input-type`, `-e`...): they would refuse the thread's code.
  const options = { execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
  const worker = 'code' in from ? new Worker(from.code, { ...options, eval: true }) : new Worker(from.url, options);
  const t: Thread = { worker, jobs: new Map() };
  // The thread's heap, configured as it started, reset the process's young-generation flag.
  worker.once('online', holdYoungGeneration);
  worker.on('message', (m: FromWorker) => t.jobs.get(m.job)?.onMessage(m));
  const gone = (e: Error): void => {
    if (thread === t) thread = undefined;
    clearTimeout(t.timer);
    for (const j of t.jobs.values()) j.onGone(e);
  };
  worker.on('error', gone);
  worker.on('exit', (code) => gone(new Error(`the layer unpacking thread exited (code ${code})`)));
  thread = t;
  idleFrom(t);
  return t;
}

/** An idle thread keeps no process alive and ends after IDLE_MS. */
function idleFrom(t: Thread): void {
  t.worker.unref();
  clearTimeout(t.timer);
  t.timer = setTimeout(() => {
    if (thread === t) thread = undefined;
    void t.worker.terminate();
  }, IDLE_MS).unref();
}

/** Starts the thread for layers about to come, so that its start (30 ms or more) overlaps the manifest's fetch. */
export function warmUnpackThread(): void {
  const from = workerSource();
  if (from) theThread(from);
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
  const t = theThread(from);
  const job = ++jobIds;
  clearTimeout(t.timer);
  t.worker.ref();
  const post = (m: ToWorker, transfer?: ArrayBuffer[]): void => t.worker.postMessage(m, transfer);
  return new Promise<UnpackResult>((resolve, reject) => {
    let inflight = 0;
    let sourceError: unknown;
    let settled = false;
    const settle = (error: unknown, result?: UnpackResult): void => {
      if (settled) return;
      settled = true;
      src.off('data', onData);
      if (error !== undefined) src.destroy();
      t.jobs.delete(job);
      if (t.jobs.size === 0) idleFrom(t);
      if (error !== undefined) reject(sourceError ?? error);
      else resolve(result!);
    };
    // The chunks of one turn of the event loop go in one message (one per chunk cost the main thread a sixth of its time).
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      post(
        { type: 'chunk', job, data: batch },
        batch.map((d) => d.buffer as ArrayBuffer),
      );
      batch = [];
      batchBytes = 0;
    };
    const onData = (chunk: Buffer): void => {
      inflight += chunk.length;
      onBytes?.(chunk.length);
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
      if (batch.length === 0) setImmediate(flush);
      batch.push(ownChunks && whole ? chunk : new Uint8Array(chunk));
      batchBytes += chunk.length;
      if (batchBytes >= BATCH) flush();
      if (inflight >= HIGH) {
        flush();
        src.pause();
      }
    };
    t.jobs.set(job, {
      onMessage: (m) => {
        if (m.type === 'consumed') {
          inflight -= m.n;
          if (inflight <= LOW && src.isPaused() && !settled) src.resume();
        } else if (m.type === 'done') settle(undefined, m.result);
        else settle(m.kind ? new EngineError(m.exitCode as ExitCodeValue, m.message, m.kind as ErrorKind) : new Error(m.message));
      },
      onGone: (e) => settle(e),
    });
    post({ type: 'start', job, spec });
    src.on('data', onData);
    src.on('end', () => {
      flush();
      post({ type: 'end', job });
    });
    // After an error the thread kills tar and answers 'failed'; the source's error is the one reported.
    src.on('error', (e) => {
      sourceError = e;
      batch = [];
      post({ type: 'abort', job });
    });
  });
}
