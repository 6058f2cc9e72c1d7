import fs from 'node:fs';
import { invalidArgs } from '../../api/errors.js';
import { parseHost } from '../../common/host.js';
import { parseBytes, parseDurationMs } from '../../common/units.js';
import { readBoundedRegularFileSync } from '../../sys/bounded-read.js';
import { isLogLevel, type LogLevel } from '../../sys/log.js';
import { ignoredKeyWarnings } from './ignored.js';
import { validateDaemonJson } from './validate.js';

export const DEFAULT_CONFIG_FILE = '/etc/isulad/daemon.json';
/** iSulad's default certificate folder (the client's too). */
export const DEFAULT_CERT_DIR = '/root/.iSulad';

export interface RuntimeEntry {
  path?: string;
  runtimeArgs?: string[];
}

/** How tcp:// hosts are served. */
export interface TlsSettings {
  /** none: plain TCP; tls: the daemon proves itself; verify: clients must too (mutual TLS). */
  mode: 'none' | 'tls' | 'verify';
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The daemon's settings after defaults, daemon.json and flags are merged. */
export interface DaemonConfig {
  hosts: string[];
  tls: TlsSettings;
  graph: string;
  state: string;
  pidfile: string;
  /** Socket group; undefined means root's group. */
  group: string | undefined;
  logLevel: LogLevel;
  logDriver: 'stdout' | 'file';
  logFile: string;
  logMaxBytes: number;
  logMaxFiles: number;
  logFileMode: number;
  defaultRuntime: string;
  runtimes: Record<string, RuntimeEntry>;
  storageDriver: string;
  storageOpts: string[];
  cgroupParent: string;
  startTimeoutMs: number;
  containerLogDriver: string;
  containerLogOpts: Record<string, string>;
  nativeUmask: 'normal' | 'secure';
  registryMirrors: string[];
  insecureRegistries: string[];
  /** CRI v1 on the engine's sockets (iSulad: daemon.json `enable-cri-v1`, off by default). */
  enableCriV1: boolean;
  podSandboxImage: string;
  /** '' (no pod network) or 'cni'. */
  networkPlugin: string;
  cniBinDir: string;
  cniConfDir: string;
  /** RuntimeClass handler → runtime name. */
  criRuntimes: Record<string, string>;
  /** The CRI streaming server's port on 127.0.0.1. */
  websocketPort: number;
  hookSpec: string | undefined;
  configFile: string | undefined;
  /** One line each for what is accepted but not acted on, logged once the log is open. */
  warnings: string[];
}

/** Settings given on the command line; undefined means "not given". */
export interface DaemonFlags {
  configFile?: string;
  hosts?: string[];
  graph?: string;
  state?: string;
  pidfile?: string;
  group?: string;
  logLevel?: string;
  logDriver?: string;
  logOpts?: string[];
  defaultRuntime?: string;
  cgroupParent?: string;
  storageDriver?: string;
  storageOpts?: string[];
  registryMirrors?: string[];
  insecureRegistries?: string[];
  startTimeout?: string;
  hookSpec?: string;
  nativeUmask?: string;
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  enableCriV1?: boolean;
  podSandboxImage?: string;
  networkPlugin?: string;
  cniBinDir?: string;
  cniConfDir?: string;
  websocketPort?: string;
}

/** iSulad's shipped file is 1 KB; one of every key with long lists stays far below this. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function readConfigFile(file: string, explicit: boolean): Record<string, unknown> {
  if (!explicit && !fs.existsSync(file)) return {};
  let text: string;
  try {
    // A FIFO or a device named by --config-file must not hang or fill the daemon at start.
    text = readBoundedRegularFileSync(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (e) {
    throw invalidArgs(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalidArgs(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return validateDaemonJson(doc);
}

/** List-valued settings that are refused when given both ways, as Docker does. */
function noListConflict(key: string, flag: string, fromFlag: unknown[] | undefined, fromFile: unknown): void {
  if (fromFlag && fromFlag.length > 0 && fromFile !== undefined) {
    throw invalidArgs(`"${key}" is set both by the ${flag} flag and in daemon.json; give it in one place only`);
  }
}

function parseKeyValues(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw invalidArgs(`invalid ${what} "${item}": want key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** --tlsverify implies --tls; flags win over daemon.json's tls, tls-verify and tls-config. */
function tlsSettings(flags: DaemonFlags, file: Record<string, unknown>): TlsSettings {
  const files = (file['tls-config'] as { CAFile?: string; CertFile?: string; KeyFile?: string } | undefined) ?? {};
  const verify = flags.tlsVerify ?? (file['tls-verify'] as boolean | undefined) ?? false;
  const tls = flags.tls ?? (file.tls as boolean | undefined) ?? false;
  return {
    mode: verify ? 'verify' : tls ? 'tls' : 'none',
    caFile: flags.tlsCaCert ?? files.CAFile ?? `${DEFAULT_CERT_DIR}/ca.pem`,
    certFile: flags.tlsCert ?? files.CertFile ?? `${DEFAULT_CERT_DIR}/cert.pem`,
    keyFile: flags.tlsKey ?? files.KeyFile ?? `${DEFAULT_CERT_DIR}/key.pem`,
  };
}

/** Plain TCP gives whoever reaches the port root on this host: it must be asked for by name. */
function checkHost(text: string, tls: boolean, plainAsked: boolean): void {
  const host = parseHost(text, tls);
  if (typeof host === 'string') throw invalidArgs(host);
  if (host.kind === 'tcp' && !tls && !plainAsked) {
    throw invalidArgs(
      `refusing to listen on ${text} without TLS: give --tlsverify with --tlscacert, --tlscert and --tlskey, or --tls=false to serve plain TCP to anyone who can reach it`,
    );
  }
}

/** Named now, before anything is made: the server reads them when it listens. */
function checkTlsFiles(tls: TlsSettings): void {
  const files: [string, string][] = [
    ['--tlscert', tls.certFile],
    ['--tlskey', tls.keyFile],
  ];
  if (tls.mode === 'verify') files.push(['--tlscacert', tls.caFile]);
  for (const [flag, file] of files) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw invalidArgs(`cannot read ${flag} ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
}

/** iSulad's default sandbox image names the machine as Go does (pause-amd64:3.0). */
const PAUSE_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'aarch64' };
export const DEFAULT_POD_SANDBOX_IMAGE = `pause-${PAUSE_ARCH[process.arch] ?? process.arch}:3.0`;
export const DEFAULT_WEBSOCKET_PORT = 10350;

/** The CRI keys: each checked here, so a bad value stops the daemon at start with its name. */
function criSettings(
  flags: DaemonFlags,
  file: Record<string, unknown>,
): Pick<DaemonConfig, 'enableCriV1' | 'podSandboxImage' | 'networkPlugin' | 'cniBinDir' | 'cniConfDir' | 'criRuntimes' | 'websocketPort'> {
  const str = (key: string): string | undefined => file[key] as string | undefined;
  const networkPlugin = flags.networkPlugin ?? str('network-plugin') ?? '';
  if (networkPlugin !== '' && networkPlugin !== 'cni')
    throw invalidArgs(`invalid network-plugin "${networkPlugin}": want cni or an empty string (no pod network)`);
  const dir = (key: string, flag: string | undefined, fallback: string): string => {
    // iSulad's shipped daemon.json has empty strings: the defaults then.
    const value = flag || str(key) || fallback;
    if (!value.startsWith('/')) throw invalidArgs(`invalid ${key} "${value}": want an absolute path`);
    return value;
  };
  const podSandboxImage = flags.podSandboxImage ?? str('pod-sandbox-image') ?? '';
  if (/\s/.test(podSandboxImage)) throw invalidArgs(`invalid pod-sandbox-image "${podSandboxImage}": an image reference has no spaces`);
  const criRuntimes = (file['cri-runtimes'] as Record<string, string> | undefined) ?? {};
  for (const [handler, runtime] of Object.entries(criRuntimes)) {
    if (handler === '' || runtime === '') throw invalidArgs(`invalid cri-runtimes entry "${handler}": "${runtime}": want a handler name and a runtime name`);
  }
  const portText = flags.websocketPort ?? file['websocket-server-listening-port'];
  const websocketPort = portText === undefined ? DEFAULT_WEBSOCKET_PORT : Number(portText);
  if (!Number.isInteger(websocketPort) || websocketPort < 1 || websocketPort > 65535) {
    throw invalidArgs(`invalid websocket-server-listening-port "${portText}": want a port from 1 to 65535`);
  }
  return {
    enableCriV1: flags.enableCriV1 ?? (file['enable-cri-v1'] as boolean | undefined) ?? false,
    podSandboxImage: podSandboxImage || DEFAULT_POD_SANDBOX_IMAGE,
    networkPlugin,
    cniBinDir: dir('cni-bin-dir', flags.cniBinDir, '/opt/cni/bin'),
    cniConfDir: dir('cni-conf-dir', flags.cniConfDir, '/etc/cni/net.d'),
    criRuntimes,
    websocketPort,
  };
}

const logOptKeys = new Set(['log-path', 'log-file-mode', 'max-file', 'max-size']);

/** Merges defaults, the config file and flags. Flags override scalar keys of the file. */
export function loadDaemonConfig(flags: DaemonFlags): DaemonConfig {
  const configFile = flags.configFile ?? DEFAULT_CONFIG_FILE;
  const file = readConfigFile(configFile, flags.configFile !== undefined);
  const str = (key: string): string | undefined => file[key] as string | undefined;

  noListConflict('hosts', '-H/--host', flags.hosts, file.hosts);
  noListConflict('storage-opts', '--storage-opt', flags.storageOpts, file['storage-opts']);
  noListConflict('log-opts', '--log-opt', flags.logOpts, file['log-opts']);
  noListConflict('registry-mirrors', '--registry-mirrors', flags.registryMirrors, file['registry-mirrors']);
  noListConflict('insecure-registries', '--insecure-registry', flags.insecureRegistries, file['insecure-registries']);

  const logLevel = (flags.logLevel ?? str('log-level') ?? 'INFO').toUpperCase();
  if (!isLogLevel(logLevel)) {
    throw invalidArgs(`invalid log-level "${logLevel}": want one of FATAL ALERT CRIT ERROR WARN NOTICE INFO DEBUG TRACE`);
  }
  const logDriver = flags.logDriver ?? str('log-driver') ?? 'file';
  if (logDriver !== 'stdout' && logDriver !== 'file') throw invalidArgs(`invalid log-driver "${logDriver}": want stdout or file`);

  const graph = flags.graph ?? str('graph') ?? '/var/lib/isulad';
  const logOpts = flags.logOpts ? parseKeyValues(flags.logOpts, 'log-opt') : ((file['log-opts'] as Record<string, string>) ?? {});
  for (const k of Object.keys(logOpts)) {
    if (!logOptKeys.has(k)) throw invalidArgs(`unknown log-opts key "${k}": want log-path, log-file-mode, max-file or max-size`);
  }
  const maxBytes = parseBytes(logOpts['max-size'] ?? '1MB');
  if (maxBytes === undefined || maxBytes < 4096) throw invalidArgs(`invalid log-opts max-size "${logOpts['max-size']}": want a size of at least 4KB`);
  const maxFiles = Number(logOpts['max-file'] ?? '7');
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw invalidArgs(`invalid log-opts max-file "${logOpts['max-file']}": want a positive integer`);
  const fileMode = parseInt(logOpts['log-file-mode'] ?? '0600', 8);
  if (!Number.isInteger(fileMode) || fileMode < 0 || fileMode > 0o777) throw invalidArgs(`invalid log-opts log-file-mode "${logOpts['log-file-mode']}"`);

  const cri = criSettings(flags, file);
  const warnings = ignoredKeyWarnings(file, cri.enableCriV1);
  const runtimes = (file.runtimes as Record<string, RuntimeEntry> | undefined) ?? {};
  let defaultRuntime = (flags.defaultRuntime ?? str('default-runtime') ?? 'lcr').toLowerCase();
  if (defaultRuntime === 'lxc') defaultRuntime = 'lcr';
  if (defaultRuntime !== 'lcr') {
    // iSulad's own daemon.json says runc: containers that name no runtime still run.
    warnings.push(`default-runtime "${defaultRuntime}": OCI runtimes are not available yet; containers that name no runtime run on lcr`);
    defaultRuntime = 'lcr';
  }

  const startTimeoutText = flags.startTimeout ?? str('start-timeout') ?? '0';
  const startTimeoutMs = parseDurationMs(startTimeoutText);
  if (startTimeoutMs === undefined) throw invalidArgs(`invalid start-timeout "${startTimeoutText}": want a duration such as 2m`);

  const nativeUmask = flags.nativeUmask ?? str('native.umask') ?? 'secure';
  if (nativeUmask !== 'normal' && nativeUmask !== 'secure') throw invalidArgs(`invalid native.umask "${nativeUmask}": want normal or secure`);

  const containerLog = (file['container-log'] as { driver?: string; opts?: Record<string, string> } | undefined) ?? {};

  const tls = tlsSettings(flags, file);
  const hostTexts = flags.hosts && flags.hosts.length > 0 ? flags.hosts : ((file.hosts as string[] | undefined) ?? ['unix:///var/run/isulad.sock']);
  for (const text of hostTexts) checkHost(text, tls.mode !== 'none', flags.tls === false || file.tls === false);
  if (tls.mode !== 'none' && hostTexts.some((h) => h.startsWith('tcp://'))) checkTlsFiles(tls);

  return {
    hosts: hostTexts,
    tls,
    graph,
    state: flags.state ?? str('state') ?? '/var/run/isulad',
    pidfile: flags.pidfile ?? str('pidfile') ?? '/var/run/isulad.pid',
    group: flags.group ?? str('group'),
    logLevel,
    logDriver,
    logFile: `${logOpts['log-path'] ?? graph}/isulad.log`,
    logMaxBytes: maxBytes,
    logMaxFiles: maxFiles,
    logFileMode: fileMode,
    defaultRuntime,
    runtimes,
    storageDriver: flags.storageDriver ?? str('storage-driver') ?? 'overlay2',
    storageOpts: flags.storageOpts ?? (file['storage-opts'] as string[] | undefined) ?? [],
    cgroupParent: flags.cgroupParent ?? str('cgroup-parent') ?? '/isulad',
    startTimeoutMs,
    containerLogDriver: containerLog.driver ?? 'json-file',
    containerLogOpts: containerLog.opts ?? {},
    nativeUmask,
    registryMirrors: flags.registryMirrors ?? (file['registry-mirrors'] as string[] | undefined) ?? [],
    insecureRegistries: flags.insecureRegistries ?? (file['insecure-registries'] as string[] | undefined) ?? [],
    ...cri,
    hookSpec: flags.hookSpec ?? str('hook-spec'),
    configFile: flags.configFile ?? (fs.existsSync(configFile) ? configFile : undefined),
    warnings,
  };
}
