/**
 * A worker thread's entry: unpacks layers (unpack.ts: the blob's digest, gunzip, the checking
 * tar pass, the diff_id hash, the skeleton, GNU tar's stdin), several at once, from the bytes
 * the main thread posts, so that this work runs on another core.
 */
import { Readable } from 'node:stream';
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
  unpackLayer({ ...spec, src: Readable.from(incoming(c), { objectMode: false }) })
    .finally(() => jobs.delete(job))
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
