import path from 'node:path';
import type { EngineEvent } from '../api/containers.js';
import type { EngineContext } from '../container/context.js';
import type { ContainerDefaults } from '../container/defaults.js';
import { EventLog } from '../container/events.js';
import { applyExitPolicy } from '../container/exit-policy.js';
import { HealthChecks } from '../container/health.js';
import { readHookSpec } from '../container/hooks.js';
import { GarbageCollector } from '../gc/collector.js';
import { removalsSettled } from '../container/remove.js';
import { RestartManager } from '../container/restart-manager.js';
import { stopContainer } from '../container/stop.js';
import { restoreContainer } from '../container/restore.js';
import { rootfsMade } from '../container/rootfs.js';
import { startLocked } from '../container/start.js';
import { ContainerStore } from '../container/store.js';
import { EmbeddedImageBackend } from '../image/embedded/backend.js';
import { EmbeddedImageStore } from '../image/embedded/store.js';
import { ExternalImageBackend } from '../image/external/external.js';
import type { ImageBackend } from '../image/image.js';
import { OciImageBackend } from '../image/oci/backend.js';
import type { OciStorePort, ReferencePort, RegistryPort } from '../image/oci/ports.js';
import { OciImages } from '../image/oci/verbs.js';
import type { RuntimeTable } from '../runtime/table.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { Logger } from '../sys/log.js';
import { superviseExits } from '../supervisor/route.js';
import type { DaemonConfig } from './config/config.js';
import { buildRuntimes } from './runtimes.js';

export interface Engine {
  ctx: EngineContext;
  images: EmbeddedImageStore;
  /** The OCI image verbs, when the daemon has the OCI back-end. */
  oci?: OciImages;
  close(): Promise<void>;
}

/** The OCI image back-end's parts, opened by the daemon. */
export interface OciParts {
  store: OciStorePort;
  registry: RegistryPort;
  refs: ReferencePort;
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

/** What the container verbs work on, before the engine wires them together. */
export interface ContextParts {
  store: ContainerStore;
  runtimes: RuntimeTable;
  images: ImageBackend[];
  /** The daemon's root directory; the garbage collector keeps its list there. */
  graph: string;
  defaults: ContainerDefaults;
  kernel: KernelFeatureSet;
  log: Logger;
}

/**
 * Ties the container layer's parts to each other: health checks stop, restarts start, the
 * collector and every recorded exit apply the exit policy. Starts nothing.
 */
export function wireContext(parts: ContextParts): EngineContext {
  const { store, runtimes, defaults, log } = parts;
  const events = new EventLog();
  const containerLog = log.child('container');
  const ctx: EngineContext = {
    store,
    runtimes,
    images: parts.images,
    events,
    // --health-exit-on-unhealthy: iSulad stops the container with a 3 s timeout.
    health: new HealthChecks({ runtimes, defaults, events, log: containerLog, onUnhealthy: (c) => stopContainer(ctx, c, 3) }),
    exitPolicy: (c) => applyExitPolicy(ctx, c),
    gc: new GarbageCollector(
      parts.graph,
      log.child('gc'),
      // Only lcr today; with a second runtime each entry records its runtime's name.
      runtimes.get(defaults.defaultRuntime),
      (action, entry) => events.emit('container', action, entry.id, { name: entry.name }),
      (entry) => {
        // Collected: now the exit's restart policy and --rm apply, as after any exit.
        const c = entry.removed ? undefined : store.find(entry.id);
        if (c && !c.state.Running) void applyExitPolicy(ctx, c);
        // A removed container's own rootfs (an OCI image's overlay) was held by its processes until now.
        const owner = entry.removed ? parts.images.find((b) => b.kind === entry.imageType && b.removeRootfs !== undefined) : undefined;
        void owner?.removeRootfs?.(entry.id).catch((e: Error) => containerLog.warn(`removing the rootfs of ${entry.id}: ${e.message}`));
      },
    ),
    restarts: new RestartManager(
      (c) =>
        c.lock.run(async () => {
          c.state.Restarting = false;
          await startLocked(ctx, c);
        }),
      containerLog,
    ),
    log: containerLog,
    defaults,
    kernel: parts.kernel,
  };
  return ctx;
}

/** Wires the subsystems in iSulad's start-up order: runtime, store, supervisor, restore. */
export async function startEngine(config: DaemonConfig, kernel: KernelFeatureSet, log: Logger, ociParts?: OciParts): Promise<Engine> {
  // As iSulad: a default hook spec that cannot be used stops the start, not every create.
  if (config.hookSpec) await readHookSpec(config.hookSpec);
  const cgroupParent = config.cgroupParent.replace(/^\/+|\/+$/g, '') || 'isulad';
  const { table: runtimes, lcr } = buildRuntimes(config, cgroupParent, log);
  for (const runtime of runtimes.all()) {
    const unusable = await runtime.detect();
    if (unusable) log.warn(`runtime ${runtime.name} unusable: ${unusable}`);
    runtime.init();
  }
  const store = new ContainerStore(lcr.lxcpath);
  const images = new EmbeddedImageStore(path.join(config.graph, 'embedded'));
  const oci = ociParts
    ? new OciImages({
        ...ociParts,
        usersOf: (id) => store.all().flatMap((c) => (c.record.config.ImageId === id ? [{ id: c.id, running: c.state.Running }] : [])),
        emit: (action, name, attributes) => ctx.events.emit('image', action, name, attributes),
      })
    : undefined;
  const ctx = wireContext({
    store,
    runtimes,
    // An --external-rootfs wins, then OCI images (iSulad asks oci first), then embedded ones.
    images: [new ExternalImageBackend(), ...(ociParts ? [new OciImageBackend(ociParts.store, ociParts.refs)] : []), new EmbeddedImageBackend(images)],
    graph: config.graph,
    defaults: {
      cgroupParent,
      defaultRuntime: config.defaultRuntime,
      logMaxBytes: 1024 * 1024,
      logMaxFiles: 7,
      hookSpec: config.hookSpec,
    },
    kernel,
    log,
  });
  ctx.events.subscribe(logContainerEvents(log.child('events')));
  // iSulad's order: the GC list first, then the containers, then the GC thread.
  ctx.gc.load();
  const loaded = store.load(
    log,
    (id) => ctx.gc.has(id),
    (config) => rootfsMade(ctx.images, config),
  );
  const supervisor = superviseExits(ctx, log.child('supervisor'));
  for (const c of loaded) {
    await restoreContainer(ctx, c).catch((e: Error) => log.error(`restoring ${c.id}: ${e.message}`));
  }
  // Runs and files of containers whose record is gone (a remove the daemon was killed in).
  const orphans: string[] = [];
  for (const runtime of runtimes.all()) {
    const swept = await runtime
      .sweepOrphans(
        (id) => store.find(id)?.id === id || ctx.gc.has(id),
        (id) => `${cgroupParent}/${id}`,
      )
      .catch((e: Error) => {
        log.error(`removing leftovers of removed containers: ${e.message}`);
        return [];
      });
    orphans.push(...swept);
  }
  if (orphans.length > 0) log.warn(`removed the leftovers of ${orphans.length} container(s) that have no record`);
  // Container layers whose record is gone: a create or rm the daemon was killed in. Those of
  // containers the collector still holds stay: their processes may hold the mount.
  const known = [...store.all().map((c) => c.id), ...ctx.gc.leftovers().map((l) => l.id)];
  await ociParts?.store.sweep(known).catch((e: Error) => log.error(`sweeping container layers: ${e.message}`));
  log.info(`restored ${loaded.length} container(s)`);
  ctx.gc.start();
  return {
    ctx,
    images,
    ...(oci ? { oci } : {}),
    close: async () => {
      supervisor.close();
      ctx.restarts.close();
      ctx.health.close();
      ctx.gc.close();
      // Removals CRI did not wait for: finished (with the runtimes still open) rather than left
      // to the next start's sweeps.
      await removalsSettled();
      await ociParts?.store.removalsSettled();
      // Containers keep running; their output waits in the FIFOs for the next daemon.
      for (const c of store.all()) c.pump?.detach();
      for (const runtime of runtimes.all()) runtime.close();
      await Promise.all(store.all().map((c) => c.filesSettled()));
    },
  };
}
