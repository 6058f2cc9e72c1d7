/**
 * A worker thread's entry: unpacks layers (unpack.ts: the blob's digest, gunzip, the checking
 * tar pass, the diff_id hash, the skeleton, GNU tar's stdin), several at once, from the bytes
 * the main thread posts, so that this work runs on another core.
 */
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { EngineError } from '../../../api/errors.js';
import type { FromWorker, ToWorker } from './unpack-protocol.js';
import { type UnpackJob, unpackLayer } from './unpack.js';

const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

/** A job being unpacked: its bytes not yet taken, and how its source ended. */
interface Job {
  id: number;
  queue: Buffer[];
  ended: boolean;
  aborted: boolean;
  wake?: () => void;
}
const jobs = new Map<number, Job>();

/**
 * A full collection of this thread's heap. The blob's buffers (transferred here) and gunzip's
 * output are memory outside the heap, freed only when their wrappers are collected; a thread
 * gone idle allocates nothing, so without this the last layers' tens of MB stayed resident
 * until the thread ended 30 s later. The flag is set only while the context is made, so no
 * other context gets `gc`.
 */
const collect = ((): (() => void) => {
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as () => void;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
})();
/** After the last job, a moment for tar's exit and the results' messages, then collect. */
const COLLECT_AFTER_MS = 200;
let collectTimer: NodeJS.Timeout | undefined;

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    start(m.job, m.spec);
    return;
  }
  const c = jobs.get(m.job);
  if (!c) return; // a late message of a job already over
  if (m.type === 'chunk') for (const d of m.data) c.queue.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  else if (m.type === 'end') c.ended = true;
  else {
    c.aborted = true;
    c.queue.length = 0;
  }
  c.wake?.();
  c.wake = undefined;
});

/** Acknowledged in batches: a message per chunk cost a fifth of this thread's time. */
const ACK_EVERY = 256 * 1024;

async function* incoming(c: Job): AsyncGenerator<Buffer> {
  let taken = 0;
  for (;;) {
    if (c.queue.length === 0 && taken > 0) {
      post({ type: 'consumed', job: c.id, n: taken });
      taken = 0;
    }
    while (c.queue.length === 0 || c.aborted) {
      // The main thread reports the source's own error; this one only stops the unpacking.
      if (c.aborted) throw new Error('the layer source failed');
      if (c.ended) return;
      await new Promise<void>((resolve) => (c.wake = resolve));
    }
    const chunk = c.queue.shift()!;
    taken += chunk.length;
    if (taken >= ACK_EVERY) {
      post({ type: 'consumed', job: c.id, n: taken });
      taken = 0;
    }
    yield chunk;
  }
}

function start(job: number, spec: UnpackJob): void {
  const c: Job = { id: job, queue: [], ended: false, aborted: false };
  jobs.set(job, c);
  clearTimeout(collectTimer);
  unpackLayer({ ...spec, src: Readable.from(incoming(c), { objectMode: false }) })
    .finally(() => {
      jobs.delete(job);
      if (jobs.size === 0) collectTimer = setTimeout(collect, COLLECT_AFTER_MS);
    })
    .then(
      (result) => post({ type: 'done', job, result }),
      (e: unknown) =>
        post(
          e instanceof EngineError
            ? { type: 'failed', job, message: e.message, kind: e.kind, exitCode: e.exitCode }
            : { type: 'failed', job, message: e instanceof Error ? e.message : String(e) },
        ),
    );
}
