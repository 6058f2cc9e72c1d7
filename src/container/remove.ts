import fsp from 'node:fs/promises';
import path from 'node:path';
import { failedPrecondition } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { handToCollector } from './gc-handoff.js';
import { removeRootfs } from './rootfs.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { awaitExit } from './wait-exit.js';
import { startedOf } from './started.js';
import { requireOperation } from './state.js';
import type { Runtime, RuntimeSpec } from '../runtime/runtime.js';

/** SIGKILL not obeyed within this long means stuck (D state, frozen by someone else). */
const STUCK_AFTER_MS = 1000;

/**
 * Drops the container: its record files closed, its directory deleted unless the collector
 * has it, then its rootfs. Only then is it gone from the list and told gone (destroy, and the
 * waits of `run --rm` end), as Docker's removal releases the layer before the container
 * leaves its store: an `rmi` right after `run --rm`, or after `inspect` stops finding a
 * `-d --rm` container, must not find the image still in use.
 */
async function forget(ctx: EngineContext, c: Container, deleteDir: boolean): Promise<void> {
  await c.closeFiles();
  if (deleteDir) {
    await fsp.rm(c.dir, { recursive: true, force: true });
    c.removed = true;
    await removeRootfs(ctx, c);
  }
  untrack(ctx, c);
}

/** Gone from the engine: out of the store (its name free), destroy told, waiters released. */
function untrack(ctx: EngineContext, c: Container): void {
  c.removed = true;
  ctx.store.delete(c);
  ctx.events.emit('container', 'destroy', c.id, { name: c.name, image: c.record.config.Image });
  c.notifyExit(c.state.ExitCode);
  c.notifyFinished(c.state.ExitCode);
}

/** Removals whose host-side cleanup goes on after the call answered (CRI's `later`). */
const finishing = new Set<Promise<void>>();

/** Resolves once the cleanups of `later` removals have ended (daemon stop). */
export async function removalsSettled(): Promise<void> {
  await Promise.allSettled([...finishing]);
}

/**
 * `isula rm [-f]`: a running container needs -f, and is killed first. With `later` (CRI, as
 * containerd's RemoveContainer is a metadata delete and its collector removes snapshots) the
 * call answers once the container's record is durably gone; the rest follows: the wait for the
 * runtime's helper to finish its teardown, the runtime's files, the directory, the rootfs. A
 * daemon started after a kill in between finds a directory without config.v2.json (a create
 * that never finished: removed), the runtime's leftovers of a container without a record
 * (swept) and a layer of no container (swept); an image removal and the daemon's stop wait for
 * what is under way.
 */
export function removeContainer(ctx: EngineContext, c: Container, force: boolean, opts: { later?: () => Promise<void> } = {}): Promise<void> {
  return c.lock.run(async () => {
    if (c.removed) return;
    requireOperation('rm', c.status, c.id, force);
    if (ctx.gc.has(c.id) && !force) throw failedPrecondition(`Cannot remove container ${c.id.slice(0, 12)}: it is in garbage collector progress, use -f`);
    await ctx.restarts.cancel(c);
    const runtime = runtimeOf(ctx.runtimes, c);
    // Derived when needed: a `later` removal of a stopped container needs it only after its answer.
    let derived: RuntimeSpec | undefined;
    const specOf = (): RuntimeSpec => (derived ??= runtimeSpecOf(c, ctx.defaults));
    if (c.state.Running) {
      c.state.ForceKilled = true;
      c.state.ManuallyStopped = true;
      runtime.kill(startedOf(c), 'SIGKILL');
      await runtime.killAll(specOf());
      // Unlike iSulad (refuses) and Docker (hangs), a container whose processes will not die
      // goes at once: its leftovers stay with the garbage collector, its name is free.
      if (!(await awaitExit(ctx, c, STUCK_AFTER_MS))) {
        c.pump?.detach();
        handToCollector(ctx, c, runtime, specOf(), true);
        await forget(ctx, c, false);
        return;
      }
    }
    if (opts.later && !ctx.gc.has(c.id)) {
      await forgetRecord(c);
      untrack(ctx, c);
      // Begun once `later` says the answer is written: the cleanup's synchronous parts (the
      // runtime's files) would otherwise run before it.
      const done = opts
        .later()
        .then(() => finish(ctx, c, runtime, specOf()))
        .catch((e: Error) => ctx.log.warn(`cleaning up after removed container ${c.id}: ${e.message}`))
        .finally(() => finishing.delete(done));
      finishing.add(done);
      return;
    }
    const spec = specOf();
    await c.releasing;
    if (ctx.gc.has(c.id)) {
      ctx.gc.markRemoved(c.id, [...runtime.hostResources(spec).stateDirs, c.dir], c.record.config.ImageType);
      await forget(ctx, c, false);
      return;
    }
    await runtime.cleanup(spec);
    await forget(ctx, c, true);
  });
}

/**
 * The commit point of a `later` removal: config.v2.json unlinked and the directory fsynced (the
 * directory opened meanwhile); a daemon started after this finds a create that never finished.
 */
async function forgetRecord(c: Container): Promise<void> {
  await c.closeFiles();
  const [unlinked, dir] = await Promise.allSettled([fsp.unlink(path.join(c.dir, 'config.v2.json')), fsp.open(c.dir, 'r')]);
  try {
    if (unlinked.status === 'rejected' && (unlinked.reason as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinked.reason;
    if (dir.status === 'rejected') throw dir.reason;
    await dir.value.sync();
  } finally {
    // Not awaited: the answer does not wait for a read-only descriptor of a directory to go.
    if (dir.status === 'fulfilled') dir.value.close().catch(() => undefined);
  }
}

/** The host side of a `later` removal, once the runtime's helper is done. */
async function finish(ctx: EngineContext, c: Container, runtime: Runtime, spec: RuntimeSpec): Promise<void> {
  await c.releasing;
  await runtime.cleanup(spec);
  await fsp.rm(c.dir, { recursive: true, force: true });
  await removeRootfs(ctx, c);
}
