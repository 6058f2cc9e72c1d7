import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { handToCollector } from './gc-handoff.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';
import { waitUntil } from '../sys/wait.js';

const DRAIN_TIMEOUT_MS = 5000;
/** How long the runtime's helper may take to finish after its container's init has exited (it takes 10-30 ms; a remove waits for it). */
const HELPER_EXIT_MS = 5000;

/**
 * Records the end of a container's run: waits until all output is read, saves the exit, and
 * then applies the restart policy or --rm. Never takes the container's lock: a stop holding
 * it is waiting for exactly this.
 *
 * Learned from the runtime's record, the helper has finished and the output streams end.
 * Learned from the runtime while its helper still tears down (`helperRunning`), the output
 * is complete once read (no process of the container is left to write), and the host
 * resources are released once the helper is gone, after the exit is saved and told.
 */
export async function handleExit(ctx: EngineContext, c: Container, code: number, helperRunning = false): Promise<void> {
  if (!c.state.Running || c.exiting) return;
  c.exiting = true;
  ctx.health.stop(c);
  try {
    const spec = c.runSpec ?? runtimeSpecOf(c, ctx.defaults);
    c.runSpec = undefined;
    const runtime = runtimeOf(ctx.runtimes, c);
    // Processes left after the init's exit (a killed monitor, a frozen cgroup) would hold the
    // output open; kill them first, and hand what survives to the garbage collector.
    const leftover = runtime.listPids(spec).length > 0;
    if (leftover) await runtime.killAll(spec);
    if (helperRunning && !leftover) await c.pump?.settle();
    else await c.pump?.drained(leftover ? 1000 : DRAIN_TIMEOUT_MS);
    const release = async (): Promise<void> => runtime.stopped(spec).catch((e: Error) => ctx.log.warn(`cleaning up after ${c.id}: ${e.message}`));
    if (leftover && !(await waitUntil(() => runtime.listPids(spec).length === 0, 1000, 20))) {
      handToCollector(ctx, c, runtime, spec, false);
    } else if (helperRunning) {
      const { ShimPid: pid, ShimStartTime: startTime } = c.state;
      c.releasing = runtime.helperEnded({ pid, startTime }, HELPER_EXIT_MS).then(release);
    } else {
      await release();
    }
    c.pump = undefined;
    c.stdin = undefined;
    const s = c.state;
    // A kill the engine forced reads as 137 whatever the runtime saw.
    const exitCode = s.ForceKilled && code !== 137 && code !== 0 ? 137 : code;
    // A stop that saw the container running waits for this die before telling its own.
    c.tellingExit = true;
    s.Running = false;
    s.Paused = false;
    s.Pid = 0;
    s.ExitCode = exitCode;
    s.FinishedAt = new Date().toISOString();
    await c.save();
    ctx.events.emit('container', 'die', c.id, { name: c.name, image: c.record.config.Image, exitCode: String(exitCode) });
    c.tellingExit = false;
    c.notifyExit(exitCode);
    await c.releasing;
    // A container in the garbage collector gets its policy and --rm once collected.
    if (!ctx.gc.has(c.id)) await ctx.exitPolicy(c);
    c.notifyFinished(exitCode);
  } finally {
    c.exiting = false;
    // An exit that could not be saved still ends the waits for it.
    if (c.tellingExit) {
      c.tellingExit = false;
      c.notifyExit(c.state.ExitCode);
    }
  }
}
