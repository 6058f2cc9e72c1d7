import fsp from 'node:fs/promises';
import { failedPrecondition } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { handToCollector } from './gc-handoff.js';
import { removeRootfs } from './rootfs.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { awaitExit } from './wait-exit.js';
import { startedOf } from './started.js';
import { requireOperation } from './state.js';

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
  if (deleteDir) await fsp.rm(c.dir, { recursive: true, force: true });
  c.removed = true;
  if (deleteDir) await removeRootfs(ctx, c);
  ctx.store.delete(c);
  ctx.events.emit('container', 'destroy', c.id, { name: c.name, image: c.record.config.Image });
  c.notifyExit(c.state.ExitCode);
  c.notifyFinished(c.state.ExitCode);
}

/** `isula rm [-f]`: a running container needs -f, and is killed first. */
export function removeContainer(ctx: EngineContext, c: Container, force: boolean): Promise<void> {
  return c.lock.run(async () => {
    if (c.removed) return;
    requireOperation('rm', c.status, c.id, force);
    if (ctx.gc.has(c.id) && !force) throw failedPrecondition(`Cannot remove container ${c.id.slice(0, 12)}: it is in garbage collector progress, use -f`);
    await ctx.restarts.cancel(c);
    const spec = runtimeSpecOf(c, ctx.defaults);
    const runtime = runtimeOf(ctx.runtimes, c);
    if (c.state.Running) {
      c.state.ForceKilled = true;
      c.state.ManuallyStopped = true;
      runtime.kill(startedOf(c), 'SIGKILL');
      await runtime.killAll(spec);
      // Unlike iSulad (refuses) and Docker (hangs), a container whose processes will not die
      // goes at once: its leftovers stay with the garbage collector, its name is free.
      if (!(await awaitExit(ctx, c, STUCK_AFTER_MS))) {
        c.pump?.detach();
        handToCollector(ctx, c, runtime, spec, true);
        await forget(ctx, c, false);
        return;
      }
    }
    await c.releasing;
    if (ctx.gc.has(c.id)) {
      ctx.gc.markRemoved(c.id, [...runtime.hostResources(spec).stateDirs, c.dir]);
      await forget(ctx, c, false);
      return;
    }
    await runtime.cleanup(spec);
    await forget(ctx, c, true);
  });
}
