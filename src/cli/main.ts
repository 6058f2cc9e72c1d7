import { type EngineError, ExitCode, toEngineError } from '../api/errors.js';
import { ENGINE_VERSION, GIT_COMMIT } from '../api/version.js';
import { DaemonError, type TlsFlags } from '../client/transport.js';
import { parseArgs, type Args } from './args.js';
import { str } from './command.js';
import { commands } from './commands/index.js';
import { CliContext } from './context.js';
import { commandHelp, topLevelHelp } from './help.js';
import { writeErr, writeOut } from './stdio.js';

/** iSulad's default certificate folder. */
const CERT_DIR = '/root/.iSulad';
const GLOBAL_BEFORE_COMMAND = new Set(['-H', '--host', '-D', '--debug', '--tls', '--tlsverify', '--tlscacert', '--tlscert', '--tlskey']);

/** Splits `[global flags] COMMAND [command args]`: the global flags may come before the command. */
function splitGlobal(argv: string[]): { global: string[]; command?: string; rest: string[] } {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (!GLOBAL_BEFORE_COMMAND.has(name)) break;
    // A value follows unless given with '=' or the flag is a boolean.
    if (!a.includes('=') && ['-H', '--host', '--tlscacert', '--tlscert', '--tlskey'].includes(name)) i++;
  }
  return { global: argv.slice(0, i), command: argv[i], rest: argv.slice(i + 1) };
}

/** The TLS flags, the command's own over those before it. */
function tlsFlags(args: Args, before: Args): TlsFlags {
  const pick = (name: string): unknown => args[name] ?? before[name];
  return {
    tls: pick('tls') === true,
    verify: pick('tlsverify') === true,
    caFile: str(pick('tlscacert')) ?? `${CERT_DIR}/ca.pem`,
    certFile: str(pick('tlscert')) ?? `${CERT_DIR}/cert.pem`,
    keyFile: str(pick('tlskey')) ?? `${CERT_DIR}/key.pem`,
  };
}

async function runCommand(verb: string, words: string[], before: Args): Promise<number> {
  let name = verb;
  let argv = words;
  const entry = commands[name];
  if (!entry) {
    writeErr(`isula: '${name}' is not an isula command. See 'isula --help'.\n`);
    return ExitCode.invalidArgs;
  }
  let command = await entry.load();
  const sub = argv[0] !== undefined ? command.subcommands?.[argv[0]] : undefined;
  if (sub) {
    command = await sub();
    name = `${name} ${argv[0]}`;
    argv = argv.slice(1);
  }
  let args: Args;
  try {
    args = parseArgs(argv, command.options ?? {}, command.haltAtPositional === true);
  } catch (e) {
    writeErr(`isula ${name}: ${toEngineError(e).message}\nSee 'isula ${name} --help'.\n`);
    return ExitCode.invalidArgs;
  }
  if (args.help) {
    writeOut(`${commandHelp(command)}\n`);
    return 0;
  }
  const ctx = new CliContext(str(args.host) ?? str(before.host), tlsFlags(args, before));
  try {
    return await command.run(args, ctx);
  } finally {
    ctx.close();
  }
}

export async function clientMain(argv: string[]): Promise<void> {
  const { global, command, rest } = splitGlobal(argv);
  let code: number;
  try {
    const before = parseArgs(global, {}, false);
    if (command === undefined || command === '--help' || command === 'help') {
      writeOut(`${topLevelHelp()}\n`);
      code = command === undefined ? ExitCode.invalidArgs : 0;
    } else if (command === '--version' || command === '-v') {
      writeOut(`Version ${ENGINE_VERSION}, commit ${GIT_COMMIT}\n`);
      code = 0;
    } else {
      code = await runCommand(command, rest, before);
    }
  } catch (e) {
    const err: EngineError = toEngineError(e);
    const prefix = e instanceof DaemonError ? 'Error response from daemon: ' : '';
    writeErr(`${prefix}${err.message}\n`);
    code = err.exitCode;
  }
  process.exitCode = code;
}
