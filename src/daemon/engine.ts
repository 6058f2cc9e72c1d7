import path from 'node:path';
import type { EngineEvent } from '../api/containers.js';
import type { EngineContext } from '../container/context.js';
import { EventLog } from '../container/events.js';
import { applyExitPolicy, handleExit } from '../container/exit.js';
import { HealthChecks } from '../container/health.js';
import { readHookSpec } from '../container/hooks.js';
import { GarbageCollector } from '../gc/collector.js';
import { RestartManager } from '../container/restart-manager.js';
import { stopContainer } from '../container/stop.js';
import { restoreContainer } from '../container/restore.js';
import { startLocked } from '../container/start.js';
import { ContainerStore } from '../container/store.js';
import { EmbeddedImageBackend } from '../image/embedded/backend.js';
import { EmbeddedImageStore } from '../image/embedded/store.js';
import { ExternalImageBackend } from '../image/external/external.js';
import { LxcRuntime } from '../runtime/lxc/lxc.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { Logger } from '../sys/log.js';
import { ExitWatcher } from '../supervisor/exits.js';
import type { DaemonConfig } from './config/config.js';

export interface Engine {
  ctx: EngineContext;
  images: EmbeddedImageStore;
  close(): Promise<void>;
}

/** Container lifecycle events (create, start, die with its exit code, stop, destroy ...) at INFO. */
function logContainerEvents(log: Logger): (e: EngineEvent) => void {
  return (e) => {
    if (e.type !== 'container') return;
    const attrs = Object.entries(e.attributes)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    log.info(`container ${e.action} ${e.id}${attrs ? ` ${attrs}` : ''}`);
  };
}

/** Wires the subsystems in iSulad's start-up order: runtime, store, supervisor, restore. */
export async function startEngine(config: DaemonConfig, kernel: KernelFeatureSet, log: Logger): Promise<Engine> {
  // As iSulad: a default hook spec that cannot be used stops the start, not every create.
  if (config.hookSpec) await readHookSpec(config.hookSpec);
  const cgroupParent = config.cgroupParent.replace(/^\/+|\/+$/g, '') || 'isulad';
  const runtime = new LxcRuntime(config.graph, config.state, `${cgroupParent}.monitor`, log.child('lxc'), config.startTimeoutMs || undefined);
  const unusable = await runtime.detect();
  if (unusable) log.warn(`runtime lcr unusable: ${unusable}`);
  runtime.init();
  const store = new ContainerStore(runtime.lxcpath);
  const images = new EmbeddedImageStore(path.join(config.graph, 'embedded'));
  const ctx: EngineContext = {
    store,
    runtime,
    // iSulad's detection order: external rootfs first, then embedded images.
    images: [new ExternalImageBackend(), new EmbeddedImageBackend(images)],
    events: new EventLog(),
    // --health-exit-on-unhealthy: iSulad stops the container with a 3 s timeout.
    health: new HealthChecks((c) => stopContainer(ctx, c, 3)),
    gc: new GarbageCollector(
      config.graph,
      log.child('gc'),
      runtime,
      (action, entry) => ctx.events.emit('container', action, entry.id, { name: entry.name }),
      (entry) => {
        // Collected: now the exit's restart policy and --rm apply, as after any exit.
        const c = entry.removed ? undefined : store.find(entry.id);
        if (c && !c.state.Running) void applyExitPolicy(ctx, c);
      },
    ),
    restarts: new RestartManager((c) =>
      c.lock.run(async () => {
        c.state.Restarting = false;
        await startLocked(ctx, c);
      }),
    ),
    log: log.child('container'),
    defaults: {
      cgroupParent,
      defaultRuntime: config.defaultRuntime,
      logMaxBytes: 1024 * 1024,
      logMaxFiles: 7,
      hookSpec: config.hookSpec,
    },
    kernel,
  };
  ctx.events.subscribe(logContainerEvents(log.child('events')));
  // iSulad's order: the GC list first, then the containers, then the GC thread.
  ctx.gc.load();
  const loaded = store.load(log, (id) => ctx.gc.has(id));
  const watcher = new ExitWatcher(
    runtime.exitsDir,
    (id, code) => {
      const c = store.find(id);
      if (c && c.id === id && c.state.Running) void handleExit(ctx, c, code);
    },
    log.child('supervisor'),
  );
  // Sooner than the record, for a container without a terminal (whose output then passes
  // through the helper, which must finish first).
  runtime.onInitExit((id, code) => {
    const c = store.find(id);
    if (c && c.id === id && c.state.Running && !c.record.config.Config.Tty) void handleExit(ctx, c, code, true);
  });
  watcher.start();
  for (const c of loaded) {
    await restoreContainer(ctx, c).catch((e: Error) => log.error(`restoring ${c.id}: ${e.message}`));
  }
  // Runs and files of containers whose record is gone (a remove the daemon was killed in).
  const orphans = await runtime
    .sweepOrphans((id) => store.find(id)?.id === id || ctx.gc.has(id), (id) => `${cgroupParent}/${id}`)
    .catch((e: Error) => (log.error(`removing leftovers of removed containers: ${e.message}`), []));
  if (orphans.length > 0) log.warn(`removed the leftovers of ${orphans.length} container(s) that have no record`);
  log.info(`restored ${loaded.length} container(s)`);
  ctx.gc.start();
  return {
    ctx,
    images,
    close: async () => {
      watcher.close();
      ctx.restarts.close();
      ctx.health.close();
      ctx.gc.close();
      // Containers keep running; their output waits in the FIFOs for the next daemon.
      for (const c of store.all()) c.pump?.detach();
      runtime.close();
      await Promise.all(store.all().map((c) => c.filesSettled()));
    },
  };
}
