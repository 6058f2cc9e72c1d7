import { GLOBAL_OPTIONS, type OptionSpec } from './args.js';
import type { Command } from './command.js';
import { commands } from './commands/index.js';

export function topLevelHelp(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length)) + 3;
  return [
    'USAGE:',
    '\tisula <command> [args...]',
    '',
    'COMMANDS:',
    ...names.map((n) => `\t${n.padEnd(width)}${commands[n]!.describe}`),
    '',
    'OPTIONS:',
    '\t-H, --host      Daemon socket to connect to (default $ISULAD_HOST or unix:///var/run/isulad.sock)',
    '\t-D, --debug     Enable debug mode',
    '\t--tls           Use TLS for a tcp:// host; implied by --tlsverify',
    '\t--tlsverify     Use TLS and verify the daemon by --tlscacert',
    '\t--tlscacert     Trust daemon certificates signed only by this CA (default /root/.iSulad/ca.pem)',
    '\t--tlscert       Client TLS certificate (default /root/.iSulad/cert.pem)',
    '\t--tlskey        Client TLS key (default /root/.iSulad/key.pem)',
    '\t--help          Show help',
    '\t--version       Show the client version',
    '',
    "Run 'isula COMMAND --help' for more information on a command.",
  ].join('\n');
}

/** `-n, --name` or `      --name`; an alias longer than one letter is a second long name. */
function flagColumn(name: string, spec: OptionSpec): string {
  if (!spec.alias) return `    --${name}`;
  return spec.alias.length === 1 ? `-${spec.alias}, --${name}` : `    --${name}, --${spec.alias}`;
}

function notes(spec: OptionSpec): string {
  const type = spec.list ? 'array' : spec.type;
  const fallback = spec.default === undefined ? '' : ` [default: ${JSON.stringify(spec.default)}]`;
  return `[${type}]${fallback}`;
}

/**
 * A command's help: usage, description, then one line per flag, never wrapped (iSulad's help
 * is not, and wrapping split words of a description under a long usage line).
 */
export function commandHelp(command: Command): string {
  const rows = Object.entries({ ...command.options, ...GLOBAL_OPTIONS }).map(([name, spec]) => ({
    flags: flagColumn(name, spec),
    text: `${spec.describe}  ${notes(spec)}`,
  }));
  const width = Math.max(...rows.map((r) => r.flags.length));
  return [`Usage:  isula ${command.usage}`, '', command.describe, '', 'Options:', ...rows.map((r) => `  ${r.flags.padEnd(width)}  ${r.text}`)].join('\n');
}
