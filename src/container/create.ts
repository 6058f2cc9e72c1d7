import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CreateRequest, CreateResponse, DeviceSpec, HealthcheckSpec, MountSpec, NamespaceShares } from '../api/containers.js';
import { imageNotFound, invalidArgs } from '../api/errors.js';
import type { ImageConfig } from '../image/image.js';
import type { Runtime } from '../runtime/runtime.js';
import type { RuntimeTable } from '../runtime/table.js';
import { cleanInRoot } from '../sys/in-root.js';
import { signalNumber } from '../sys/signals.js';
import { settleAll } from '../sys/wait.js';
import { Container } from './container.js';
import { mergeEnv } from './env.js';
import { HEALTH_DEFAULTS, HEALTH_MAX_TIMEOUT_MS } from './health.js';
import { readHookSpec } from './hooks.js';
import type { EngineContext } from './context.js';
import { emptyState, type ContainerRecord, type HealthConfig } from './record.js';
import { hostCpuCount, validateResourceValues } from './resources.js';
import { ownEtcFile, runtimeSpecOf } from './spec.js';
import { namesUserOrGroup, resolveUser } from './user.js';
import { hostResolvConf } from '../sys/host-resolv.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const MIN_MEMORY = 4 * 1024 * 1024;
const ULIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
]);

/** The runtime `--runtime` names (any case, an alias too), else the daemon's default. */
function runtimeNamed(runtimes: RuntimeTable, requested: string | undefined, fallback: string): Runtime {
  const runtime = runtimes.find(requested || fallback);
  if (runtime) return runtime;
  throw invalidArgs(`Invalid runtime name "${requested ?? fallback}": this engine runs lcr (lxc); OCI runtimes are not available yet`);
}

/**
 * The environment goes to execve(2) with the command (the kernel's limits: one string under
 * MAX_ARG_STRLEN, 128 KiB; all of them, with a pointer each, within ARG_MAX, a quarter of the
 * stack limit: 2 MiB by default, so 1 MiB leaves room for a smaller one), and each variable
 * costs LXC a setenv(3) that scans all the others, a cost that grows with the square of
 * the count: 200,000 kept lxc-start busy for minutes, 30,000 add 4 s to a start, 8000 0.7 s.
 */
export const ENV_LIMITS = { maxEntries: 8192, maxStringBytes: 128 * 1024 - 1, maxTotalBytes: 1024 * 1024 };

export function validateEnv(env: string[], argv: string[]): void {
  if (env.length > ENV_LIMITS.maxEntries) {
    throw invalidArgs(`too many environment variables (${env.length}, with the image's and PATH): at most ${ENV_LIMITS.maxEntries}`);
  }
  let total = 0;
  for (const [what, list] of [
    ['environment variable', env],
    ['argument', argv],
  ] as const) {
    for (const s of list) {
      const bytes = Buffer.byteLength(s);
      if (bytes > ENV_LIMITS.maxStringBytes) {
        throw invalidArgs(`${what} ${JSON.stringify(s.slice(0, 32))}... is ${bytes} bytes: at most ${ENV_LIMITS.maxStringBytes}`);
      }
      // As the kernel counts it: the string, its NUL and its pointer.
      total += bytes + 1 + 8;
    }
  }
  if (total > ENV_LIMITS.maxTotalBytes) throw invalidArgs(`environment and command take ${total} bytes: at most ${ENV_LIMITS.maxTotalBytes} (1 MiB)`);
}

/**
 * Checks the user's mounts and returns them with each destination cleaned as an absolute path
 * inside the container (iSulad's util_clean_path): `/../../x` is `/x`, so no destination,
 * stored or handed to the runtime, can name a place outside the container's root.
 */
function validateMounts(mounts: MountSpec[]): MountSpec[] {
  return mounts.map((given) => {
    if (!given.destination.startsWith('/')) throw invalidArgs(`invalid mount destination "${given.destination}": must be an absolute path`);
    // Each mount becomes one line of the LXC config: a newline would start another key.
    if (/[\r\n]/.test(`${given.source}${given.destination}${given.options ?? ''}`))
      throw invalidArgs(`invalid mount "${given.destination.split(/[\r\n]/)[0]}": must not contain a newline`);
    const m = { ...given, destination: cleanInRoot(given.destination) };
    if (m.destination === '/') throw invalidArgs(`invalid mount destination "${given.destination}": cannot mount over the root filesystem`);
    if (m.type === 'bind') {
      if (!m.source.startsWith('/')) throw invalidArgs(`invalid bind mount source "${m.source}": must be an absolute path`);
      if (!fs.existsSync(m.source)) throw invalidArgs(`invalid bind mount source "${m.source}": no such file or directory`);
      if (m.propagation && !PROPAGATIONS.has(m.propagation)) throw invalidArgs(`invalid bind-propagation "${m.propagation}"`);
    }
    if (m.type === 'squashfs') {
      let st: fs.Stats;
      try {
        st = fs.statSync(m.source);
      } catch {
        throw invalidArgs(`invalid squashfs mount source "${m.source}": no such file`);
      }
      if (!st.isFile()) throw invalidArgs(`invalid squashfs mount source "${m.source}": must be a regular file`);
    }
    return m;
  });
}

/** Devices with their path in the container checked and cleaned like mount destinations. */
function validateDevices(devices: DeviceSpec[]): DeviceSpec[] {
  return devices.map((d) => {
    if (!fs.existsSync(d.hostPath))
      throw invalidArgs(`error gathering device information while adding custom device "${d.hostPath}": no such file or directory`);
    if (/[\r\n]/.test(`${d.hostPath}${d.containerPath}`)) throw invalidArgs(`invalid device "${d.hostPath.split(/[\r\n]/)[0]}": must not contain a newline`);
    if (!d.containerPath.startsWith('/')) throw invalidArgs(`invalid device "${d.hostPath}": path in the container "${d.containerPath}" must be absolute`);
    const containerPath = cleanInRoot(d.containerPath);
    if (containerPath === '/') throw invalidArgs(`invalid device "${d.hostPath}": path in the container "${d.containerPath}" is the root filesystem`);
    return { ...d, containerPath };
  });
}

/** squashfs layers and mounts go through read-only loop devices, so both must be there. */
function requireSquashfsSupport(ctx: EngineContext, mounts: MountSpec[]): void {
  const squashfs = mounts.find((m) => m.type === 'squashfs');
  if (!squashfs) return;
  const missing = !ctx.kernel.squashfs ? 'the squashfs filesystem' : !ctx.kernel.loop ? 'loop devices' : undefined;
  if (missing) throw invalidArgs(`Your kernel does not support ${missing}; the squashfs mount of ${squashfs.source} at ${squashfs.destination} is refused`);
}

function validateResources(req: CreateRequest, ctx: EngineContext): void {
  const r = req.resources;
  validateResourceValues(r);
  if (r.memory !== undefined && r.memory > 0 && r.memory < MIN_MEMORY) throw invalidArgs('Minimum memory limit allowed is 4MB');
  if (r.memorySwap !== undefined && r.memorySwap > 0) {
    if (!r.memory) throw invalidArgs('You should always set the Memory limit when using Memoryswap limit');
    if (r.memorySwap < r.memory) throw invalidArgs('Minimum memoryswap limit should be larger than memory limit, see usage');
    if (!ctx.kernel.memsw) throw invalidArgs('Your kernel does not support swap limit capabilities (no memory.memsw.limit_in_bytes); --memory-swap is refused');
  }
  const unsupported = (cgroup: string, flag: string): never => {
    throw invalidArgs(`Your kernel does not support the ${cgroup} cgroup; ${flag} is refused`);
  };
  if (r.memory && !ctx.kernel.memory) unsupported('memory', '--memory');
  for (const [flag, value] of [
    ['--cpu-shares', r.cpuShares],
    ['--cpus', r.nanoCpus],
    ['--cpu-period', r.cpuPeriod],
    ['--cpu-quota', r.cpuQuota],
  ] as const) {
    if (value && !ctx.kernel.cpu) unsupported('cpu', flag);
  }
  if (r.cpusetCpus !== undefined && !ctx.kernel.cpuset) unsupported('cpuset', '--cpuset-cpus');
  if (r.cpusetMems !== undefined && !ctx.kernel.cpuset) unsupported('cpuset', '--cpuset-mems');
  if (r.pidsLimit !== undefined && r.pidsLimit > 0 && !ctx.kernel.pids) unsupported('pids', '--pids-limit');
  if (r.filesLimit !== undefined && r.filesLimit > 0 && !ctx.kernel.files) {
    throw invalidArgs('Your kernel does not support the files cgroup (an openEuler kernel feature); --files-limit is refused');
  }
  if (r.nanoCpus !== undefined && (r.cpuPeriod || r.cpuQuota)) throw invalidArgs('Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set');
  if (r.cpusetCpus !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(r.cpusetCpus)) throw invalidArgs(`Invalid value ${r.cpusetCpus} for cpuset cpus`);
    const highest = Math.max(...r.cpusetCpus.split(/[,-]/).map(Number));
    const cpus = hostCpuCount();
    if (highest >= cpus) throw invalidArgs(`Requested CPUs are not available - requested ${r.cpusetCpus}, available: 0-${cpus - 1}`);
  }
}

const SYSCTL_KEY_RE = /^[a-z0-9_][a-z0-9_.\-/]*$/i;

/** Sysctls become LXC config lines: a key is a /proc/sys path, nothing can break out of the line. */
function validateSysctls(sysctls: Record<string, string>): void {
  for (const [key, value] of Object.entries(sysctls)) {
    if (!SYSCTL_KEY_RE.test(key) || key.includes('..')) throw invalidArgs(`invalid sysctl "${key}"`);
    if (/[\r\n]/.test(value)) throw invalidArgs(`invalid value of sysctl ${key}: must not contain a newline`);
  }
}

/**
 * Masked and read-only paths are mounted over LXC's own /proc and /sys (targets inside those
 * filesystems, not the rootfs): only clean paths under them.
 */
function validateProcSysPath(p: string): void {
  if (!/^\/(proc|sys)\/[A-Za-z0-9_.\-/:]+$/.test(p) || p.split('/').some((part) => part === '..' || part === '.'))
    throw invalidArgs(`invalid masked or read-only path "${p}": only paths under /proc and /sys are supported`);
}

/** A namespace to join: the host's (`host`), another container's (`container:<id>`) or an absolute namespace file. */
function validateNamespaces(ctx: EngineContext, shares: NamespaceShares): NamespaceShares {
  const out: NamespaceShares = {};
  for (const [kind, value] of Object.entries(shares) as [keyof NamespaceShares, string][]) {
    if (value === 'host') out[kind] = value;
    else if (value.startsWith('container:')) {
      const target = ctx.store.get(value.slice('container:'.length));
      out[kind] = `container:${target.id}`;
    } else if (value.startsWith('/') && !/[\r\n]/.test(value)) {
      if (!fs.existsSync(value)) throw invalidArgs(`invalid ${kind} namespace "${value}": no such file`);
      out[kind] = value;
    } else throw invalidArgs(`invalid ${kind} namespace "${value}": want container:<id> or a namespace file`);
  }
  return out;
}

/** Health check flags with iSulad's defaults and limits (verify.c). */
export function healthConfigOf(h: HealthcheckSpec | undefined): HealthConfig | undefined {
  if (!h) return undefined;
  if (h.test[0] === 'NONE') return { Test: ['NONE'], IntervalMs: 0, TimeoutMs: 0, StartPeriodMs: 0, Retries: 0, ExitOnUnhealthy: false };
  for (const [flag, ms] of [
    ['--health-interval', h.intervalMs],
    ['--health-timeout', h.timeoutMs],
    ['--health-start-period', h.startPeriodMs],
  ] as const) {
    if (ms < 0 || (ms > 0 && ms < 1000)) throw invalidArgs(`Invalid ${flag}: must be at least 1 second`);
  }
  if (h.timeoutMs > HEALTH_MAX_TIMEOUT_MS) throw invalidArgs('Invalid --health-timeout: must be at most 10 minutes');
  if (h.retries !== undefined && (!Number.isInteger(h.retries) || h.retries < 0)) throw invalidArgs('Invalid --health-retries: must be a non-negative integer');
  return {
    Test: h.test,
    IntervalMs: h.intervalMs || HEALTH_DEFAULTS.intervalMs,
    TimeoutMs: h.timeoutMs || HEALTH_DEFAULTS.timeoutMs,
    StartPeriodMs: h.startPeriodMs || HEALTH_DEFAULTS.startPeriodMs,
    Retries: h.retries === undefined || h.retries === 0 ? HEALTH_DEFAULTS.retries : h.retries,
    ExitOnUnhealthy: h.exitOnUnhealthy,
  };
}

/**
 * Docker's merge of the image's container defaults with the request: `--entrypoint` (even
 * "") replaces the image's entrypoint and drops its Cmd; arguments replace the image's Cmd;
 * -u, --stop-signal and the health flags win over the image's.
 */
export function mergeImageConfig(
  req: Pick<CreateRequest, 'entrypoint' | 'cmd' | 'user'>,
  image: ImageConfig,
  health: HealthConfig | undefined,
): { entrypoint: string[]; cmd: string[]; user: string; healthcheck: HealthConfig | undefined } {
  const entrypoint = req.entrypoint ?? image.entrypoint;
  const cmd = req.cmd.length > 0 || req.entrypoint !== undefined ? req.cmd : (image.cmd ?? []);
  let healthcheck = health;
  const fromImage = image.healthcheck;
  if (!healthcheck && fromImage?.Test && fromImage.Test.length > 0) {
    // Docker's image config counts in nanoseconds; 0 means the default.
    const ms = (ns: number | undefined): number => Math.round((ns ?? 0) / 1e6);
    healthcheck =
      fromImage.Test[0] === 'NONE'
        ? undefined
        : {
            Test: fromImage.Test,
            IntervalMs: ms(fromImage.Interval) || HEALTH_DEFAULTS.intervalMs,
            TimeoutMs: ms(fromImage.Timeout) || HEALTH_DEFAULTS.timeoutMs,
            StartPeriodMs: ms(fromImage.StartPeriod) || HEALTH_DEFAULTS.startPeriodMs,
            Retries: fromImage.Retries || HEALTH_DEFAULTS.retries,
            ExitOnUnhealthy: false,
          };
  }
  return { entrypoint, cmd, user: req.user ?? image.user ?? '', healthcheck };
}

/** A fresh id that no container has. */
export function newContainerId(ctx: EngineContext): string {
  let id: string;
  do id = crypto.randomBytes(32).toString('hex');
  while (ctx.store.find(id));
  return id;
}

/**
 * `isula create`: validates everything first, so a refused request leaves nothing behind.
 * `chosenId`: an id the caller made (newContainerId) because it names the container elsewhere
 * before the create is done (a pod's network is set up under its pause's id meanwhile).
 * `alongside`: the caller's own step, awaited with the create's writes; its failure fails the
 * create, which then removes what it made. `answered`: resolves once the caller's answer is
 * out (CRI's call); the runtime's files, which nothing needs before, wait for it.
 */
export async function createContainer(
  ctx: EngineContext,
  req: CreateRequest,
  chosenId?: string,
  opts: { alongside?: Promise<unknown>; answered?: () => Promise<void> } = {},
): Promise<CreateResponse> {
  const runtime = runtimeNamed(ctx.runtimes, req.runtime, ctx.defaults.defaultRuntime);
  if (req.name !== undefined && req.name !== '') {
    if (!NAME_RE.test(req.name)) throw invalidArgs(`Invalid container name (${req.name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  if (req.autoRemove && req.restartPolicy && req.restartPolicy.name !== 'no') throw invalidArgs('Conflicting options: --restart and --rm');
  const badCaps = runtime.unknownCaps([...req.capAdd, ...req.capDrop]);
  if (badCaps.length > 0) throw invalidArgs(`Unknown capability: ${badCaps[0]}`);
  if (req.stopSignal && signalNumber(req.stopSignal) === undefined) throw invalidArgs(`Invalid signal: ${req.stopSignal}`);
  for (const u of req.ulimits) if (!ULIMIT_NAMES.has(u.name)) throw invalidArgs(`Invalid ulimit type: ${u.name}`);
  const devices = validateDevices(req.devices);
  const hookSpec = req.hookSpec || ctx.defaults.hookSpec;
  const hooks = hookSpec ? await readHookSpec(hookSpec) : undefined;
  const mounts = validateMounts(req.mounts);
  validateResources(req, ctx);
  const healthcheck = healthConfigOf(req.healthcheck);
  if (req.sysctls) validateSysctls(req.sysctls);
  for (const p of [...(req.maskedPaths ?? []), ...(req.readonlyPaths ?? [])]) validateProcSysPath(p);
  for (const g of req.groupAdd ?? []) if (!Number.isSafeInteger(g) || g < 0 || g > 0xfffffffe) throw invalidArgs(`invalid supplementary group ${g}`);
  const namespaces = req.namespaces ? validateNamespaces(ctx, req.namespaces) : undefined;
  if (req.criLogPath !== undefined && (!req.criLogPath.startsWith('/') || /[\r\n]/.test(req.criLogPath)))
    throw invalidArgs(`invalid log path "${req.criLogPath}": must be absolute`);

  const backend = ctx.images.find((b) => b.detect(req.image, req.externalRootfs));
  if (!backend) throw imageNotFound(`No such image: ${req.image}`);
  const image = await backend.resolve(req.image, req.externalRootfs, req.platform);
  requireSquashfsSupport(ctx, [...image.mounts, ...mounts]);

  const merged = mergeImageConfig(req, image.config, healthcheck);
  let argv = [...merged.entrypoint, ...merged.cmd];
  if (argv.length === 0 && req.systemContainer) argv = ['/sbin/init'];
  if (argv.length === 0) throw invalidArgs('No command specified');
  const env = mergeEnv(image.config.env, req.env);
  validateEnv(env, argv);
  // An OCI image's users are looked up once its rootfs exists, below.
  if (merged.user && !backend.createRootfs) resolveUser(merged.user, image.userDbRoot);

  if (chosenId && ctx.store.find(chosenId)) throw invalidArgs(`container id ${chosenId} is taken`);
  const id = chosenId ?? newContainerId(ctx);
  const name = req.name || id;
  ctx.store.assertNameFree(name);

  const dir = ctx.store.dirOf(id);
  const record: ContainerRecord = {
    config: {
      ID: id,
      Name: name,
      Created: new Date().toISOString(),
      Path: argv[0]!,
      Args: argv.slice(1),
      Image: image.name,
      ImageType: image.type,
      ...(image.id ? { ImageId: image.id } : {}),
      // The container's own rootfs, once made (below).
      BaseFs: image.rootfs.path,
      LogPath: req.criLogPath ?? `${dir}/console.log`,
      RestartCount: 0,
      Config: {
        Hostname: req.hostname || id.slice(0, 12),
        User: merged.user,
        Env: env,
        Cmd: merged.cmd,
        Entrypoint: merged.entrypoint,
        WorkingDir: req.workdir || image.config.workdir || '/',
        Labels: { ...image.config.labels, ...req.labels },
        Tty: req.tty,
        OpenStdin: req.openStdin,
        StopSignal: req.stopSignal || image.config.stopSignal || (req.systemContainer ? 'SIGPWR' : 'SIGTERM'),
        ...(merged.healthcheck ? { Healthcheck: merged.healthcheck } : {}),
        ...(image.config.exposedPorts ? { ExposedPorts: image.config.exposedPorts } : {}),
        ...(image.config.volumes ? { Volumes: image.config.volumes } : {}),
        ...(req.annotations ? { Annotations: req.annotations } : {}),
      },
      State: emptyState(),
    },
    host: {
      Runtime: runtime.name,
      SystemContainer: req.systemContainer,
      ExternalRootfs: req.externalRootfs ?? '',
      ReadonlyRootfs: req.readOnly,
      Mounts: mounts,
      ImageMounts: image.mounts,
      Resources: req.resources,
      CapAdd: req.capAdd,
      CapDrop: req.capDrop,
      Privileged: req.privileged,
      Devices: devices,
      Ulimits: req.ulimits,
      HookSpec: hookSpec ?? '',
      ...(hooks ? { Hooks: hooks } : {}),
      RestartPolicy: req.restartPolicy ?? { name: 'no', maximumRetryCount: 0 },
      AutoRemove: req.autoRemove,
      LogConfig: { Type: req.criLogPath !== undefined ? 'cri' : 'json-file', Config: req.logOpts },
      CgroupParent: req.cgroupParent ?? '',
      NetworkMode: req.networkMode ?? 'none',
      ...(namespaces ? { Namespaces: namespaces } : {}),
      ...(req.sysctls ? { Sysctls: req.sysctls } : {}),
      ...(req.seccompProfile !== undefined ? { SeccompProfile: req.seccompProfile } : {}),
      ...(req.apparmorProfile !== undefined ? { AppArmorProfile: req.apparmorProfile } : {}),
      ...(req.noNewPrivileges ? { NoNewPrivileges: true } : {}),
      ...(req.maskedPaths?.length ? { MaskedPaths: req.maskedPaths } : {}),
      ...(req.readonlyPaths?.length ? { ReadonlyPaths: req.readonlyPaths } : {}),
      ...(req.groupAdd?.length ? { GroupAdd: req.groupAdd } : {}),
      ...(req.groupsStrict ? { GroupsStrict: true } : {}),
    },
  };
  const container = new Container(record, dir);
  // config.v2.json, the record's commit point, is written beside the rootfs, both durable
  // before the answer: a directory without it, or with a record that does not parse, is a
  // create that never finished (deleted at the next start), and so is a never started record
  // whose rootfs was never made, and a rootfs without a record (swept). One that names a user
  // or group waits for the rootfs, whose files must resolve the name first (below); ids
  // always resolve, and the start reads the rest (home, groups) from the mounted rootfs.
  const recordBeside = !backend.createRootfs || (backend.rootfsOf !== undefined && !namesUserOrGroup(merged.user));
  if (backend.createRootfs && recordBeside) record.config.BaseFs = backend.rootfsOf!(id);
  try {
    // The rootfs does not need the directory: begun while it is made (the directory first, on
    // the thread pool, while the layer makes its own on this thread). In it the durable writes
    // are queued ahead of the etc files, which need no fsync; the store's directory is fsynced
    // too, for the new directory's own entry.
    const written = settleAll([
      fsp
        .mkdir(dir, { recursive: true, mode: 0o700 })
        .then(() => settleAll([recordBeside ? container.createFiles() : container.saveHost(), ctx.store.rootSync.run(), writeEtcFiles(container)])),
      backend.createRootfs ? backend.createRootfs(id, image) : image.rootfs.path,
      opts.alongside,
    ]);
    // The runtime's configuration is CPU work: done while the writes are on the thread pool.
    // Refused, the create still waits for them before it removes what they made.
    let refused: { error: unknown } | undefined;
    const { answered } = opts;
    if (recordBeside) {
      try {
        runtime.create(runtimeSpecOf(container, ctx.defaults), answered ? written.then(answered) : written);
      } catch (error) {
        refused = { error };
      }
    }
    const [, rootfs] = await written;
    if (refused) throw refused.error;
    if (!recordBeside) {
      record.config.BaseFs = rootfs;
      // Every verb resolves the user from the rootfs (spec.ts): one that names a user is
      // mounted now, so a bad name is refused here and rm never meets an unmounted rootfs
      // (where the name would not resolve).
      resolveUser(merged.user, (await backend.mountRootfs?.(id)) ?? record.config.BaseFs);
      await container.save();
      runtime.create(runtimeSpecOf(container, ctx.defaults), answered?.() ?? Promise.resolve());
    }
    ctx.store.add(container);
  } catch (e) {
    await container.closeFiles();
    await fsp.rm(dir, { recursive: true, force: true });
    await backend.removeRootfs?.(id).catch((err: Error) => ctx.log.warn(`removing the rootfs of ${id}, whose create failed: ${err.message}`));
    throw e;
  }
  ctx.events.emit('container', 'create', id, { name, image: image.name });
  return { id, warnings: image.warnings ?? [] };
}

/**
 * hostname, hosts and resolv.conf of an app container, bind-mounted over the rootfs's own.
 * Written once, into the new container's directory before the create is answered: plain
 * writes side by side on the thread pool (nothing reads them earlier, and a create that
 * fails removes the directory).
 */
export async function writeEtcFiles(c: Container, only?: (name: string) => boolean): Promise<void> {
  const hostname = c.record.config.Config.Hostname;
  const files: [string, () => string | Promise<string>][] = [
    ['hostname', () => `${hostname}\n`],
    ['hosts', () => `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`],
    ['resolv.conf', hostResolvConf],
  ];
  // A file creation costs this VM's ext4 0.4-0.7 ms of kernel CPU: none for a file nobody sees.
  await Promise.all(
    files
      .filter(([name]) => ownEtcFile(c.record.host, name) && (only?.(name) ?? true))
      .map(async ([name, text]) => fsp.writeFile(path.join(c.dir, name), await text(), { mode: 0o644 })),
  );
}

/**
 * At daemon start: the etc files are written beside the record, not before it, and without
 * fsync (derived from the record), so a create the daemon was killed in after its record was
 * whole, or a power cut after the answer, can leave them missing (or, hostname and hosts,
 * empty): written again, or the start would fail to bind them. One that is there is kept
 * (the container may have changed it).
 */
export async function repairEtcFiles(c: Container): Promise<void> {
  const lost = (name: string): boolean => {
    const st = fs.statSync(path.join(c.dir, name), { throwIfNoEntry: false });
    return st === undefined || (st.size === 0 && name !== 'resolv.conf');
  };
  await writeEtcFiles(c, lost);
}
