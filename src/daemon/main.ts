import fs from 'node:fs';
import path from 'node:path';
import { holdYoungGeneration } from '../sys/young-generation.js';
import { EngineError, generalError, toEngineError } from '../api/errors.js';
import { ENGINE_VERSION, GIT_COMMIT } from '../api/version.js';
import { containerService } from '../services/containers.js';
import { archiveService } from '../services/image-archives.js';
import { imageService } from '../services/images.js';
import { systemService } from '../services/system.js';
import { hostCgroups } from '../sys/cgroup/mounts.js';
import { groupId } from '../sys/groups.js';
import { detectKernelFeatures, effectiveStorageDriver, kernelDegradations } from '../sys/kernel.js';
import { createLogger, RotatingFileSink, StdoutSink, type Logger } from '../sys/log.js';
import { loadDaemonConfig, type DaemonConfig } from './config/config.js';
import { parseDaemonArgs } from './flags.js';
import { startEngine } from './engine.js';
import { openOciParts } from './oci-parts.js';
import { claimSingleInstance } from './pidfile.js';
import type { Route } from './grpc/dispatch.js';
import { startServer, stopServer } from './server.js';
import { makeDirs } from '../sys/dirs.js';
import type { ReferencePort } from '../image/oci/ports.js';
import type { OciImages } from '../image/oci/verbs.js';
import type { EngineContext } from '../container/context.js';

function socketGid(config: DaemonConfig): number {
  if (config.group === undefined) return groupId('isula') ?? 0;
  const gid = groupId(config.group);
  if (gid === undefined) throw generalError(`socket group "${config.group}" does not exist`);
  return gid;
}

/**
 * CRI v1's routes when enable-cri-v1 is on. Loaded only then: the protobuf library and the
 * CRI descriptors cost a daemon without CRI nothing (docs/design.md, "CRI: wire format and gRPC").
 */
async function criRoutes(
  config: DaemonConfig,
  engine: EngineContext,
  oci: { images: OciImages; refs: ReferencePort } | undefined,
  log: Logger,
): Promise<{ routes: Map<string, Route>; close(): Promise<void> } | undefined> {
  if (!config.enableCriV1) return undefined;
  const [
    { criRoutes: routes },
    { criRuntimeService },
    { criImageService },
    { criPodService, criStreamingLookup },
    { criContainerService },
    { criStatsService },
    { criMetricsService },
    { criStreamingHandlers },
    { openCri },
  ] = await Promise.all([
    import('./grpc/cri-routes.js'),
    import('../services/cri/runtime.js'),
    import('../services/cri/images.js'),
    import('../services/cri/runtime-pods.js'),
    import('../services/cri/runtime-containers.js'),
    import('../services/cri/runtime-stats.js'),
    import('../services/cri/runtime-metrics.js'),
    import('../services/cri/streaming.js'),
    import('./cri-pods.js'),
  ]);
  const cri = await openCri(config, engine, oci?.images, log);
  const { pods } = cri;
  const table = routes([
    ...criRuntimeService(
      {
        engineVersion: ENGINE_VERSION,
        cgroupDriver: 'cgroupfs',
        podSandboxImage: config.podSandboxImage,
        networkPlugin: config.networkPlugin,
        cniBinDir: config.cniBinDir,
        cniConfDir: config.cniConfDir,
        criRuntimes: config.criRuntimes,
        streamingPort: config.websocketPort,
      },
      cri.cni,
    ),
    ...(oci
      ? criImageService({
          ...oci,
          storageDir: path.join(config.graph, 'storage'),
          podSandboxImage: config.podSandboxImage,
        })
      : []),
    ...criPodService(pods),
    ...criContainerService(pods),
    ...criStatsService(pods),
    ...criMetricsService(pods),
    ...criStreamingHandlers(cri.streaming, criStreamingLookup(pods)),
  ]);
  return { routes: table, close: cri.close };
}

function makeLogger(config: DaemonConfig): Logger {
  const sink =
    config.logDriver === 'stdout' ? new StdoutSink() : new RotatingFileSink(config.logFile, config.logMaxBytes, config.logMaxFiles, config.logFileMode);
  return createLogger(sink, config.logLevel, 'daemon');
}

async function run(config: DaemonConfig): Promise<void> {
  // V8's young generation stays at its starting 2 MiB instead of growing to 32 MiB: over 600
  // `isula run --rm` the daemon's private memory grew by 43 to 55 MB around a live heap of 9 MB,
  // now by 14 to 25 MB, for the same CPU per operation (docs/design.md, "Daemon memory over a soak").
  // --max-semi-space-size would say so directly, but V8 reads it only as it starts, before the
  // single executable runs any of ours; the growth factor is read each time the young
  // generation would grow. Bun has no V8: a no-op there. The single executable's loader
  // (src/main.ts) sets it already, before this bundle is compiled; here for the daemon run
  // from out/ (bench profiles).
  holdYoungGeneration();
  makeDirs(config.graph, 0o700);
  makeDirs(config.state, 0o700);
  const release = claimSingleInstance(config.pidfile, config.graph);
  const log = makeLogger(config);
  log.info(`isulad ${ENGINE_VERSION} (${GIT_COMMIT}) starting, pid ${process.pid}, graph ${config.graph}, state ${config.state}`);
  for (const line of config.warnings) log.warn(line);

  const gid = socketGid(config);
  const cgroups = hostCgroups();
  const kernel = detectKernelFeatures(cgroups);
  for (const line of kernelDegradations(kernel)) log.warn(`kernel: ${line}`);
  const storageDriver = effectiveStorageDriver(config.storageDriver, kernel);

  const oci = await openOciParts(config, storageDriver, log.child('image'));
  const engine = await startEngine(config, kernel, log, oci);
  const { store } = engine.ctx;
  const images = imageService(engine.images, store, engine.ctx.events, kernel, engine.oci);
  const handlers = {
    ...containerService(engine.ctx),
    ...images,
    ...archiveService({
      archives: {
        store: oci.store,
        normalize: (name) => oci.refs.format(oci.refs.parse(name)),
        familiar: oci.refs.familiar,
        // Emptied by the store at every start: archives a load or save was working on when the daemon died.
        tmpDir: path.join(config.graph, 'storage', 'tmp'),
        emit: (action, id, attributes) => engine.ctx.events.emit('image', action, id, attributes),
        warn: (m) => log.warn(m),
      },
      loadEmbedded: images['ImageService/Load'],
      containers: store,
      events: engine.ctx.events,
      rootfsOf: async (c) => {
        // An OCI container's layer is mounted at its first start (here for one never started) and kept until rm.
        if (c.record.config.ImageType === 'oci') return { path: await oci.store.mount(c.id), release: async () => undefined };
        const base = c.record.config.BaseFs;
        // An external rootfs directory is exported as it is; a block device is not.
        return base && !base.startsWith('/dev/') ? { path: base, release: async () => undefined } : undefined;
      },
      warn: (m) => log.warn(m),
    }),
    ...systemService({
      rootDir: config.graph,
      stateDir: config.state,
      defaultRuntime: config.defaultRuntime,
      runtimes: ['lcr', ...Object.keys(config.runtimes)],
      storageDriver,
      logDriver: config.logDriver,
      logLevel: config.logLevel,
      cgroup: { version: cgroups.version, controllers: cgroups.controllers },
      kernel,
      containerCounts: () => {
        const all = store.all();
        const paused = all.filter((c) => c.status === 'paused').length;
        const running = all.filter((c) => c.state.Running).length - paused;
        return { total: all.length, running, paused, stopped: all.length - running - paused };
      },
      imageCount: () => engine.images.count() + (engine.oci?.store.listImages().length ?? 0),
      gcLeftovers: () => engine.ctx.gc.leftovers(),
    }),
  };

  // Signals are handled from before the socket exists: a client may see the socket (and a
  // supervisor send SIGTERM) before startServer has returned.
  let closeCri = async (): Promise<void> => undefined;
  const serving = criRoutes(config, engine.ctx, engine.oci ? { images: engine.oci, refs: oci.refs } : undefined, log).then((cri) => {
    if (cri) closeCri = cri.close;
    return startServer(config.hosts, handlers, { gid, tls: config.tls }, log.child('server'), cri?.routes);
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}, shutting down`);
    void serving
      .then(
        (server) => stopServer(server),
        () => undefined,
      )
      .finally(async () => {
        await closeCri();
        await engine.close();
        oci.close();
        for (const host of config.hosts) if (host.startsWith('unix://')) fs.rmSync(host.slice('unix://'.length), { force: true });
        release();
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await serving;
  } catch (e) {
    if (stopping) return;
    stopping = true;
    await closeCri();
    await engine.close();
    oci.close();
    release();
    throw e;
  }
  process.on('SIGPIPE', () => undefined);
  // One bad request must not take every container's supervision down with it.
  process.on('uncaughtException', (e) => log.error(`uncaught exception: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
  log.info(config.enableCriV1 ? 'daemon ready, serving CRI v1 (runtime.v1) too' : 'daemon ready');
}

export async function daemonMain(argv: string[]): Promise<void> {
  try {
    const invocation = parseDaemonArgs(argv);
    if (invocation.kind === 'help') {
      process.stdout.write(invocation.text);
      return;
    }
    if (invocation.kind === 'version') {
      process.stdout.write(`Version ${ENGINE_VERSION}, commit ${GIT_COMMIT}\n`);
      return;
    }
    await run(loadDaemonConfig(invocation.flags));
  } catch (e) {
    const err = e instanceof EngineError ? e : toEngineError(e);
    process.stderr.write(`isulad: ${err.message}\n`);
    process.exit(err.exitCode);
  }
}
