import yargs from 'yargs';
import { invalidArgs } from '../api/errors.js';
import { DEFAULT_POD_SANDBOX_IMAGE, type DaemonFlags } from './config/config.js';

export type DaemonInvocation = { kind: 'run'; flags: DaemonFlags } | { kind: 'version' } | { kind: 'help'; text: string };

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as unknown[]).concat(v).map(String));
const opt = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));
const bool = (v: unknown): boolean | undefined => (v === undefined ? undefined : Boolean(v));

interface FlagSpec {
  name: string;
  alias?: string;
  /** The value's placeholder in the help; none for a boolean. */
  arg?: string;
  describe: string;
}

/** iSulad's daemon flags (src/cmd/isulad/isulad_commands.h), the subset this engine acts on. */
const FLAGS: FlagSpec[] = [
  { name: 'host', alias: 'H', arg: 'HOST', describe: 'Socket to listen on, repeatable: unix:///path or tcp://HOST:PORT (default unix:///var/run/isulad.sock)' },
  { name: 'graph', alias: 'g', arg: 'DIR', describe: 'Root directory of persistent state (default /var/lib/isulad)' },
  { name: 'state', alias: 'S', arg: 'DIR', describe: 'Root directory of runtime state (default /var/run/isulad)' },
  { name: 'pidfile', alias: 'p', arg: 'FILE', describe: 'Pid file (default /var/run/isulad.pid)' },
  { name: 'group', alias: 'G', arg: 'GROUP', describe: 'Group owning the unix sockets (default isula when that group exists)' },
  { name: 'log-level', alias: 'l', arg: 'LEVEL', describe: 'FATAL, ALERT, CRIT, ERROR, WARN, NOTICE, INFO, DEBUG or TRACE (default INFO)' },
  { name: 'log-driver', arg: 'DRIVER', describe: 'Where the daemon logs: stdout or file (default file)' },
  { name: 'log-opt', arg: 'KEY=VALUE', describe: 'Daemon log options, repeatable: log-path=, max-file=, max-size=, log-file-mode=' },
  { name: 'config-file', arg: 'FILE', describe: 'Configuration file (default /etc/isulad/daemon.json)' },
  { name: 'default-runtime', arg: 'NAME', describe: 'Runtime of containers that name none (default lcr)' },
  { name: 'cgroup-parent', arg: 'PATH', describe: 'Parent cgroup of all containers (default /isulad)' },
  { name: 'storage-driver', arg: 'NAME', describe: 'Storage driver (default overlay2)' },
  { name: 'storage-opt', alias: 's', arg: 'OPT', describe: 'Storage driver options, repeatable' },
  { name: 'registry-mirrors', arg: 'URL', describe: 'Registry tried before docker.io for its images, repeatable' },
  { name: 'insecure-registry', arg: 'HOST', describe: 'Registry reached with unverified TLS or plain HTTP, repeatable' },
  { name: 'start-timeout', arg: 'DURATION', describe: 'Timeout of a container start, such as 2m' },
  { name: 'hook-spec', arg: 'FILE', describe: 'Default OCI hooks file for all containers' },
  { name: 'native.umask', arg: 'MASK', describe: 'Umask of containers: normal or secure' },
  {
    name: 'tls',
    describe: 'Serve tcp:// hosts over TLS; implied by --tlsverify. --tls=false serves plain TCP, which gives anyone who reaches the port control of this host',
  },
  { name: 'tlsverify', describe: 'Serve tcp:// hosts over TLS and accept only clients with a certificate signed by --tlscacert' },
  { name: 'tlscacert', arg: 'FILE', describe: 'CA that signs client certificates (default /root/.iSulad/ca.pem)' },
  { name: 'tlscert', arg: 'FILE', describe: "The daemon's TLS certificate (default /root/.iSulad/cert.pem)" },
  { name: 'tlskey', arg: 'FILE', describe: "The daemon's TLS key (default /root/.iSulad/key.pem)" },
  { name: 'enable-cri-v1', describe: "Serve Kubernetes' CRI v1 (runtime.v1) on the same sockets (default false, as iSulad)" },
  { name: 'pod-sandbox-image', arg: 'IMAGE', describe: `Image of the pods' sandbox (pause) container (default ${DEFAULT_POD_SANDBOX_IMAGE})` },
  { name: 'network-plugin', arg: 'NAME', describe: 'Pod network plugin: cni, or empty for none (default empty)' },
  { name: 'cni-bin-dir', arg: 'DIR', describe: 'Folder of the CNI plugins (default /opt/cni/bin)' },
  { name: 'cni-conf-dir', arg: 'DIR', describe: 'Folder of the CNI network configurations (default /etc/cni/net.d)' },
  { name: 'websocket-server-listening-port', arg: 'PORT', describe: 'Port of the CRI streaming server on 127.0.0.1 (default 10350)' },
  { name: 'version', alias: 'V', describe: 'Print the version and exit' },
  { name: 'help', describe: 'Print this help and exit' },
];

/** Breaks `text` into lines of at most `width` characters, at spaces only. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The help text, descriptions wrapped at word boundaries to `columns` (80 when unknown). */
export function daemonHelp(columns = 80): string {
  const heads = FLAGS.map((f) => `${f.alias ? `-${f.alias}, ` : '    '}--${f.name}${f.arg ? ` ${f.arg}` : ''}`);
  const indent = 2 + Math.max(...heads.map((h) => h.length)) + 2;
  // A narrow terminal still gets a readable description column.
  const width = Math.max(30, columns - indent);
  const out = ['Usage: isulad [OPTIONS]', '', 'The lightweight container engine daemon', '', 'Options:'];
  FLAGS.forEach((f, i) => {
    const [first = '', ...more] = wrapWords(f.describe, width);
    out.push(`  ${heads[i]!.padEnd(indent - 2)}${first}`);
    for (const line of more) out.push(`${' '.repeat(indent)}${line}`);
  });
  return `${out.join('\n')}\n`;
}

export function parseDaemonArgs(argv: string[]): DaemonInvocation {
  let failure: string | undefined;
  let parser = yargs(argv).version(false).help(false).strict();
  for (const f of FLAGS) parser = parser.option(f.name, { alias: f.alias, type: f.arg ? 'string' : 'boolean' });
  const parsed = parser
    .parserConfiguration({ 'dot-notation': false, 'boolean-negation': false })
    .exitProcess(false)
    .fail((msg) => {
      failure = msg;
    })
    .parseSync();
  if (failure) throw invalidArgs(failure);
  if (parsed.help) return { kind: 'help', text: daemonHelp(process.stdout.columns) };
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
      registryMirrors: list(parsed['registry-mirrors']),
      insecureRegistries: list(parsed['insecure-registry']),
      startTimeout: opt(parsed['start-timeout']),
      hookSpec: opt(parsed['hook-spec']),
      nativeUmask: opt(parsed['native.umask']),
      tls: bool(parsed.tls),
      tlsVerify: bool(parsed.tlsverify),
      tlsCaCert: opt(parsed.tlscacert),
      tlsCert: opt(parsed.tlscert),
      tlsKey: opt(parsed.tlskey),
      enableCriV1: bool(parsed['enable-cri-v1']),
      podSandboxImage: opt(parsed['pod-sandbox-image']),
      networkPlugin: opt(parsed['network-plugin']),
      cniBinDir: opt(parsed['cni-bin-dir']),
      cniConfDir: opt(parsed['cni-conf-dir']),
      websocketPort: opt(parsed['websocket-server-listening-port']),
    },
  };
}
