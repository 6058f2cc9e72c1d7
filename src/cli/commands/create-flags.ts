import path from 'node:path';
import type { CreateRequest, DeviceSpec, HealthcheckSpec, MountSpec, ResourceSpec, RestartPolicySpec, UlimitSpec } from '../../api/containers.js';
import { invalidArgs } from '../../api/errors.js';
import { parseBytes, parseDurationMs } from '../../common/units.js';
import { readBoundedRegularFileSync } from '../../sys/bounded-read.js';
import type { OptionTable } from '../args.js';
import { positionals, str, strList, type Args } from '../command.js';

/** The flags `create` and `run` share (iSulad's CREATE_OPTIONS, the supported subset). */
export const CREATE_OPTIONS: OptionTable = {
  name: { alias: 'n', type: 'string', describe: 'Name of the container' },
  'external-rootfs': { type: 'string', describe: 'Rootfs (directory or block device) not managed by isulad' },
  runtime: { alias: 'R', type: 'string', describe: 'Runtime to use for the container (lcr, lxc)' },
  pull: { type: 'string', describe: 'Pull image before running: missing (default), always or never' },
  platform: { type: 'string', describe: 'Set platform if server is multi-platform capable (os/arch[/variant])' },
  'system-container': { type: 'boolean', describe: 'Extend some features only needed by running a system container' },
  env: { alias: 'e', type: 'string', list: true, describe: 'Set environment variables' },
  'env-file': { type: 'string', list: true, describe: 'Read in a line delimited file of environment variables' },
  label: { alias: 'l', type: 'string', list: true, describe: 'Set metadata on container' },
  'label-file': { type: 'string', list: true, describe: 'Read in a line delimited file of labels' },
  workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
  user: { alias: 'u', type: 'string', describe: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  hostname: { alias: 'h', type: 'string', describe: 'Container host name' },
  entrypoint: { type: 'string', describe: 'Entrypoint to run when starting the container' },
  tty: { alias: 't', type: 'boolean', describe: 'Allocate a pseudo-TTY' },
  interactive: { alias: 'i', type: 'boolean', describe: 'Keep STDIN open even if not attached' },
  volume: { alias: 'v', type: 'string', list: true, describe: 'Bind mount a volume: /host:/container[:ro|rw]' },
  mount: { type: 'string', list: true, describe: 'Attach a filesystem mount: type=bind|tmpfs|squashfs,src=,dst=,ro=true' },
  tmpfs: { type: 'string', list: true, describe: 'Mount a tmpfs directory: /path[:options]' },
  'read-only': { type: 'boolean', describe: "Make container's root filesystem read only" },
  'stop-signal': { type: 'string', describe: 'Signal to stop a container (default SIGTERM)' },
  'log-opt': { type: 'string', list: true, describe: 'Container log options: max-size, max-file, disable-log' },
  memory: { alias: 'm', type: 'string', describe: 'Memory limit' },
  'memory-swap': { type: 'string', describe: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  'cpu-shares': { type: 'string', describe: 'CPU shares (relative weight)' },
  cpus: { type: 'string', describe: 'Number of CPUs' },
  'cpu-period': { type: 'string', describe: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  'cpu-quota': { type: 'string', describe: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  'cpuset-cpus': { type: 'string', describe: 'CPUs in which to allow execution (e.g. 0-3, 0,1)' },
  'cpuset-mems': { type: 'string', describe: 'MEMs in which to allow execution (0-3, 0,1)' },
  'pids-limit': { type: 'string', describe: 'Tune container pids limit (set -1 for unlimited)' },
  'files-limit': { type: 'string', describe: 'Tune container files limit (set -1 for unlimited)' },
  'cap-add': { type: 'string', list: true, describe: 'Add Linux capabilities' },
  'cap-drop': { type: 'string', list: true, describe: 'Drop Linux capabilities' },
  privileged: { type: 'boolean', describe: 'Give extended privileges to this container' },
  device: { type: 'string', list: true, describe: 'Add a host device to the container' },
  ulimit: { type: 'string', list: true, describe: 'Ulimit options: name=soft[:hard]' },
  'hook-spec': { type: 'string', describe: 'File containing hook definition (prestart, poststart, poststop)' },
  restart: { type: 'string', describe: 'Restart policy: no, always, on-failure[:max-retries], unless-stopped, on-reboot' },
  'cgroup-parent': { type: 'string', describe: 'Optional parent cgroup for the container' },
  net: { alias: 'network', type: 'string', describe: 'Connect a container to a network: none (default) or host' },
  'health-cmd': { type: 'string', describe: 'Command to run to check health' },
  'health-interval': { type: 'string', describe: 'Time between running the check (ms|s|m|h) (default 30s)' },
  'health-timeout': { type: 'string', describe: 'Maximum time to allow one check to run (ms|s|m|h) (default 30s)' },
  'health-start-period': {
    type: 'string',
    describe: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)',
  },
  'health-retries': { type: 'number', describe: 'Consecutive failures needed to report unhealthy (default 3)' },
  'no-healthcheck': { type: 'boolean', describe: 'Disable any container-specified HEALTHCHECK' },
  'health-exit-on-unhealthy': { type: 'boolean', describe: 'Stop the container when it becomes unhealthy' },
};

function durationFlag(args: Args, flag: string): number {
  const text = str(args[flag]);
  if (text === undefined) return 0;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw invalidArgs(`invalid value "${text}" for flag --${flag}: want a duration such as 30s`);
  return ms;
}

/** --health-* flags; undefined when none is given. */
function healthcheckOf(args: Args): HealthcheckSpec | undefined {
  const timing = ['health-interval', 'health-timeout', 'health-start-period', 'health-retries', 'health-exit-on-unhealthy'].filter(
    (f) => args[f] !== undefined,
  );
  if (args['no-healthcheck'] === true) {
    if (args['health-cmd'] !== undefined || timing.length > 0) throw invalidArgs('--no-healthcheck conflicts with --health-* options');
    return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, startPeriodMs: 0, exitOnUnhealthy: false };
  }
  const cmd = str(args['health-cmd']);
  if (cmd === undefined) {
    if (timing.length > 0) throw invalidArgs(`--${timing[0]} needs --health-cmd: there is no image health check to change`);
    return undefined;
  }
  const retries = args['health-retries'] as number | undefined;
  return {
    test: ['CMD-SHELL', cmd],
    intervalMs: durationFlag(args, 'health-interval'),
    timeoutMs: durationFlag(args, 'health-timeout'),
    startPeriodMs: durationFlag(args, 'health-start-period'),
    ...(retries !== undefined ? { retries } : {}),
    exitOnUnhealthy: args['health-exit-on-unhealthy'] === true,
  };
}

/** An env or label file: the daemon takes at most 1 MiB of environment, so more is refused here. */
const MAX_LINES_FILE_BYTES = 1024 * 1024;

function readLinesFile(file: string, what: string): string[] {
  let text: string;
  try {
    text = readBoundedRegularFileSync(file, MAX_LINES_FILE_BYTES).toString('utf8');
  } catch (e) {
    const why = (e as Error).message;
    throw invalidArgs(why === 'no such file' ? `open ${file}: no such ${what} file` : `invalid ${what} file ${file}: ${why}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** `-e K=V`, or `-e K` taking K from our own environment, as Docker does. */
export function envList(args: Args): string[] {
  const items = [...strList(args['env-file']).flatMap((f) => readLinesFile(f, 'env')), ...strList(args.env)];
  const out: string[] = [];
  for (const e of items) {
    if (e.startsWith('=')) throw invalidArgs(`invalid environment variable: ${e}`);
    if (e.includes('=')) out.push(e);
    else if (process.env[e] !== undefined) out.push(`${e}=${process.env[e]}`);
  }
  return out;
}

function labels(args: Args): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of [...strList(args['label-file']).flatMap((f) => readLinesFile(f, 'label')), ...strList(args.label)]) {
    const eq = l.indexOf('=');
    if (eq === 0) throw invalidArgs(`invalid label: ${l}`);
    out[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return out;
}

const absolute = (p: string): string => (path.isAbsolute(p) ? p : path.resolve(p));

/** `-v /host:/container[:ro|rw][,propagation]`. Named volumes need the volume subsystem, which is not here. */
export function parseVolume(spec: string): MountSpec {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalidArgs(`invalid volume specification: '${spec}'`);
  const [source = '', destination = '', mode = ''] = parts;
  if (!source.startsWith('/')) throw invalidArgs(`invalid volume specification: '${spec}': named volumes are not supported, give an absolute host path`);
  if (!destination.startsWith('/')) throw invalidArgs(`invalid volume specification: '${spec}': mount path must be absolute`);
  let readOnly = false;
  let propagation: string | undefined;
  for (const m of mode.split(',').filter(Boolean)) {
    if (m === 'ro') readOnly = true;
    else if (m === 'rw') readOnly = false;
    else if (['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m)) propagation = m;
    else throw invalidArgs(`invalid volume specification: '${spec}': invalid mode ${m}`);
  }
  return { type: 'bind', source, destination, readOnly, ...(propagation ? { propagation } : {}) };
}

/** `--mount type=bind|tmpfs|squashfs,src=...,dst=...,ro=true,bind-propagation=...`. */
export function parseMount(spec: string): MountSpec {
  const kv: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    kv[key] = eq < 0 ? 'true' : part.slice(eq + 1);
  }
  const type = kv.type ?? 'volume';
  if (type !== 'bind' && type !== 'tmpfs' && type !== 'squashfs') throw invalidArgs(`invalid mount type "${type}": want bind, tmpfs or squashfs`);
  const source = kv.src ?? kv.source ?? '';
  const destination = (kv.dst ?? kv.destination ?? kv.target ?? '').replace(/^\/\/+/, '/');
  if (!destination) throw invalidArgs(`invalid mount "${spec}": dst is required`);
  if (!destination.startsWith('/')) throw invalidArgs(`invalid mount "${spec}": dst must be an absolute path`);
  const roText = kv.ro ?? kv.readonly ?? 'false';
  if (!['true', 'false', '1', '0'].includes(roText)) throw invalidArgs(`invalid mount "${spec}": ro must be true or false, not ${roText}`);
  const readOnly = roText === 'true' || roText === '1';
  const propagation = kv['bind-propagation'];
  if (propagation !== undefined && !['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(propagation)) {
    throw invalidArgs(`invalid mount "${spec}": invalid bind-propagation ${propagation}`);
  }
  for (const k of Object.keys(kv)) {
    if (!['type', 'src', 'source', 'dst', 'destination', 'target', 'ro', 'readonly', 'bind-propagation', 'tmpfs-size', 'tmpfs-mode'].includes(k)) {
      throw invalidArgs(`invalid mount "${spec}": unknown key ${k}`);
    }
  }
  if (type === 'tmpfs') {
    const opts = [kv['tmpfs-size'] ? `size=${kv['tmpfs-size']}` : '', kv['tmpfs-mode'] ? `mode=${kv['tmpfs-mode']}` : ''].filter(Boolean).join(',');
    return { type, source: 'tmpfs', destination, readOnly, ...(opts ? { options: opts } : {}) };
  }
  if (!source) throw invalidArgs(`invalid mount "${spec}": src is required`);
  if (!source.startsWith('/')) throw invalidArgs(`invalid mount "${spec}": src must be an absolute path`);
  return { type, source, destination, readOnly: type === 'squashfs' ? true : readOnly, ...(propagation ? { propagation } : {}) };
}

function parseTmpfs(spec: string): MountSpec {
  const colon = spec.indexOf(':');
  const destination = colon < 0 ? spec : spec.slice(0, colon);
  if (!destination.startsWith('/')) throw invalidArgs(`invalid tmpfs "${spec}": path must be absolute`);
  return { type: 'tmpfs', source: 'tmpfs', destination, readOnly: false, ...(colon < 0 ? {} : { options: spec.slice(colon + 1) }) };
}

function parseDevice(spec: string): DeviceSpec {
  const [hostPath = '', containerPath, permissions] = spec.split(':');
  if (!hostPath.startsWith('/')) throw invalidArgs(`invalid device "${spec}": host path must be absolute`);
  const perms = permissions ?? (containerPath && /^[rwm]+$/.test(containerPath) ? containerPath : 'rwm');
  const dst = containerPath && !/^[rwm]+$/.test(containerPath) ? containerPath : hostPath;
  if (!/^[rwm]{1,3}$/.test(perms)) throw invalidArgs(`invalid device "${spec}": permissions must be a combination of r, w and m`);
  return { hostPath, containerPath: dst, permissions: perms };
}

function parseUlimit(spec: string): UlimitSpec {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec);
  if (!m) throw invalidArgs(`invalid ulimit "${spec}": want name=soft[:hard]`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) throw invalidArgs(`invalid ulimit "${spec}": soft limit ${soft} is greater than hard limit ${hard}`);
  return { name: m[1]!, soft, hard };
}

export function parseRestartPolicy(spec: string): RestartPolicySpec {
  const [name = '', max] = spec.split(':');
  if (!['no', 'always', 'on-failure', 'unless-stopped', 'on-reboot'].includes(name)) throw invalidArgs(`invalid restart policy "${spec}"`);
  if (max !== undefined && name !== 'on-failure') throw invalidArgs(`maximum retry count cannot be used with restart policy '${name}'`);
  const count = max === undefined ? 0 : Number(max);
  if (!Number.isInteger(count) || count < 0) throw invalidArgs(`invalid restart policy "${spec}": maximum retry count must be a non-negative integer`);
  return { name: name as RestartPolicySpec['name'], maximumRetryCount: count };
}

function bytesFlag(value: unknown, flag: string): number | undefined {
  const text = str(value);
  if (text === undefined) return undefined;
  if (text === '-1') return -1;
  const n = parseBytes(text);
  if (n === undefined) throw invalidArgs(`invalid value "${text}" for flag --${flag}: want a size such as 64m`);
  return n;
}

const LOG_OPTS = new Set(['max-size', 'max-file', 'disable-log']);

export function logOpts(args: Args): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of strList(args['log-opt'])) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    if (!LOG_OPTS.has(key)) throw invalidArgs(`invalid log opt "${key}": want max-size, max-file or disable-log`);
    const value = o.slice(eq + 1);
    if (key === 'max-size' && parseBytes(value) === undefined) throw invalidArgs(`invalid log opt max-size "${value}"`);
    if (key === 'max-file' && !(Number.isInteger(Number(value)) && Number(value) > 0)) throw invalidArgs(`invalid log opt max-file "${value}"`);
    out[key] = value;
  }
  return out;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A flag iSulad parses as a long long: an integer in int64's range, refused as iSulad's client does. */
function int64Flag(args: Args, flag: string): number | undefined {
  const text = str(args[flag]);
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t) || BigInt(t) > INT64_MAX || BigInt(t) < -INT64_MAX - 1n) throw invalidArgs(`Invalid value "${text}" for flag --${flag}`);
  return Number(t);
}

/** The resource flags `create`, `run` and `update` share; flags not given are left out. */
export function resourcesOf(args: Args): ResourceSpec {
  const cpus = str(args.cpus);
  let nanoCpus: number | undefined;
  if (cpus !== undefined) {
    const n = Number(cpus);
    if (!Number.isFinite(n) || n <= 0) throw invalidArgs(`invalid value "${cpus}" for flag --cpus`);
    nanoCpus = Math.round(n * 1e9);
  }
  const all: ResourceSpec = {
    memory: bytesFlag(args.memory, 'memory'),
    memorySwap: bytesFlag(args['memory-swap'], 'memory-swap'),
    cpuShares: int64Flag(args, 'cpu-shares'),
    nanoCpus,
    cpuPeriod: int64Flag(args, 'cpu-period'),
    cpuQuota: int64Flag(args, 'cpu-quota'),
    cpusetCpus: str(args['cpuset-cpus']),
    cpusetMems: str(args['cpuset-mems']),
    pidsLimit: int64Flag(args, 'pids-limit'),
    filesLimit: int64Flag(args, 'files-limit'),
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as ResourceSpec;
}

export const RESOURCE_FLAGS = ['memory', 'memory-swap', 'cpu-shares', 'cpus', 'cpu-period', 'cpu-quota', 'cpuset-cpus', 'cpuset-mems', 'pids-limit'] as const;

/**
 * With -t the container's programs need to know the terminal: TERM comes from the client's
 * own (xterm when unset, as Docker sets), unless -e/--env-file gives one.
 */
export function withTerm(env: string[], tty: boolean): string[] {
  if (!tty || env.some((e) => e.startsWith('TERM='))) return env;
  return [...env, `TERM=${process.env.TERM || 'xterm'}`];
}

/** Builds the create request from the flags and `IMAGE [COMMAND] [ARG...]`. */
export function createRequestOf(args: Args, autoRemove = false): CreateRequest {
  const [image, ...cmd] = positionals(args);
  if (!image) throw invalidArgs('"create" requires at least 1 argument: an image, or none with --external-rootfs');
  const net = str(args.net);
  if (net !== undefined && net !== 'none' && net !== 'host') throw invalidArgs(`network "${net}" is not supported: want none or host`);
  const externalRootfs = str(args['external-rootfs']);
  return {
    name: str(args.name),
    image,
    ...(str(args.platform) !== undefined ? { platform: str(args.platform) } : {}),
    externalRootfs: externalRootfs === undefined ? undefined : absolute(externalRootfs),
    cmd,
    entrypoint: args.entrypoint === undefined ? undefined : str(args.entrypoint) === '' ? [] : [str(args.entrypoint)!],
    env: withTerm(envList(args), args.tty === true),
    labels: labels(args),
    workdir: str(args.workdir),
    user: str(args.user),
    hostname: str(args.hostname),
    tty: args.tty === true,
    openStdin: args.interactive === true,
    runtime: str(args.runtime),
    systemContainer: args['system-container'] === true,
    readOnly: args['read-only'] === true,
    mounts: [...strList(args.volume).map(parseVolume), ...strList(args.mount).map(parseMount), ...strList(args.tmpfs).map(parseTmpfs)],
    resources: resourcesOf(args),
    capAdd: strList(args['cap-add']),
    capDrop: strList(args['cap-drop']),
    privileged: args.privileged === true,
    devices: strList(args.device).map(parseDevice),
    ulimits: strList(args.ulimit).map(parseUlimit),
    hookSpec: str(args['hook-spec']),
    stopSignal: str(args['stop-signal']),
    logOpts: logOpts(args),
    autoRemove,
    restartPolicy: args.restart === undefined ? undefined : parseRestartPolicy(str(args.restart)!),
    cgroupParent: str(args['cgroup-parent']),
    networkMode: net,
    healthcheck: healthcheckOf(args),
  };
}
