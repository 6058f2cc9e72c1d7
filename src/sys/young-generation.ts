import v8 from 'node:v8';

/**
 * Keeps V8's young generation at its starting size in this process: the growth factor is read
 * each time V8 would grow it (docs/design.md, "Daemon memory over a soak"). A no-op in Bun.
 *
 * V8 raises this process-wide flag back to 2 whenever it configures a new isolate's heap, so
 * every worker thread's start undoes it; the one who starts a worker calls this again once the
 * worker is online (docs/design.md, "Daemon memory with a pod": without it the daemon's young
 * generation grew to 27 MB after the first pull's unpacking thread).
 */
export function holdYoungGeneration(): void {
  if (process.versions.bun === undefined) v8.setFlagsFromString('--semi-space-growth-factor=1');
}
