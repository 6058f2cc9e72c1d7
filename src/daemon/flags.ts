import yargs from 'yargs';
import { invalidArgs } from '../api/errors.js';
import type { DaemonFlags } from './config/config.js';

export type DaemonInvocation = { kind: 'run'; flags: DaemonFlags } | { kind: 'version' } | { kind: 'help' };

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));
const opt = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));

/** iSulad's daemon flags (src/cmd/isulad/isulad_commands.h), the common subset. */
export function parseDaemonArgs(argv: string[]): DaemonInvocation {
  let failure: string | undefined;
  const parsed = yargs(argv)
    .scriptName('isulad')
    .usage('isulad [OPTIONS]\n\nThe lightweight container engine daemon')
    .version(false)
    .option('host', { alias: 'H', type: 'string', describe: 'Socket to listen on (repeatable), default unix:///var/run/isulad.sock' })
    .option('graph', { alias: 'g', type: 'string', describe: 'Root directory of persistent state, default /var/lib/isulad' })
    .option('state', { alias: 'S', type: 'string', describe: 'Root directory of runtime state, default /var/run/isulad' })
    .option('pidfile', { alias: 'p', type: 'string', describe: 'Pid file, default /var/run/isulad.pid' })
    .option('group', { alias: 'G', type: 'string', describe: 'Group owning the unix socket, default isula when that group exists' })
    .option('log-level', { alias: 'l', type: 'string', describe: 'FATAL ALERT CRIT ERROR WARN NOTICE INFO DEBUG TRACE, default INFO' })
    .option('log-driver', { type: 'string', describe: 'Where the daemon logs: stdout or file, default file' })
    .option('log-opt', { type: 'string', describe: 'Daemon log options: log-path=, max-file=, max-size=, log-file-mode=' })
    .option('config-file', { type: 'string', describe: 'Configuration file, default /etc/isulad/daemon.json' })
    .option('default-runtime', { type: 'string', describe: 'Default container runtime, default lcr' })
    .option('cgroup-parent', { type: 'string', describe: 'Parent cgroup of all containers, default /isulad' })
    .option('storage-driver', { type: 'string', describe: 'Storage driver, default overlay2' })
    .option('storage-opt', { alias: 's', type: 'string', describe: 'Storage driver options' })
    .option('start-timeout', { type: 'string', describe: 'Timeout of a container start, e.g. 2m' })
    .option('hook-spec', { type: 'string', describe: 'Default OCI hooks file for all containers' })
    .option('native.umask', { type: 'string', describe: 'Umask of containers: normal or secure' })
    .option('version', { alias: 'V', type: 'boolean', describe: 'Print the version and exit' })
    .help('help')
    .strict()
    .parserConfiguration({ 'dot-notation': false, 'boolean-negation': false })
    .exitProcess(false)
    .fail((msg) => {
      failure = msg;
    })
    .parseSync();
  if (failure) throw invalidArgs(failure);
  if (parsed.help) return { kind: 'help' };
  if (parsed.version) return { kind: 'version' };
  return {
    kind: 'run',
    flags: {
      configFile: opt(parsed['config-file']),
      hosts: list(parsed.host),
      graph: opt(parsed.graph),
      state: opt(parsed.state),
      pidfile: opt(parsed.pidfile),
      group: opt(parsed.group),
      logLevel: opt(parsed['log-level']),
      logDriver: opt(parsed['log-driver']),
      logOpts: list(parsed['log-opt']),
      defaultRuntime: opt(parsed['default-runtime']),
      cgroupParent: opt(parsed['cgroup-parent']),
      storageDriver: opt(parsed['storage-driver']),
      storageOpts: list(parsed['storage-opt']),
      startTimeout: opt(parsed['start-timeout']),
      hookSpec: opt(parsed['hook-spec']),
      nativeUmask: opt(parsed['native.umask']),
    },
  };
}
