import { EngineError, ExitCode, toEngineError } from '../api/errors.js';
import { ENGINE_VERSION, GIT_COMMIT } from '../api/version.js';
import { DaemonError } from '../client/transport.js';
import { parseArgs, type Args } from './args.js';
import { str } from './command.js';
import { commands } from './commands/index.js';
import { CliContext } from './context.js';
import { commandHelp, topLevelHelp } from './help.js';
import { writeErr, writeOut } from './stdio.js';

/** Splits `[global flags] COMMAND [command args]`; -H/--host and -D may come before the command. */
function splitGlobal(argv: string[]): { host?: string; command?: string; rest: string[] } {
  let host: string | undefined;
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-H' || a === '--host') host = argv[++i];
    else if (a.startsWith('--host=')) host = a.slice('--host='.length);
    else if (a === '-D' || a === '--debug') continue;
    else break;
  }
  const command = argv[i];
  rest.push(...argv.slice(i + 1));
  return { host, command, rest };
}

async function runCommand(name: string, argv: string[], hostFlag: string | undefined): Promise<number> {
  const entry = commands[name];
  if (!entry) {
    writeErr(`isula: '${name}' is not an isula command. See 'isula --help'.\n`);
    return ExitCode.invalidArgs;
  }
  const command = await entry.load();
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
  const ctx = new CliContext(str(args.host) ?? hostFlag);
  try {
    return await command.run(args, ctx);
  } finally {
    ctx.close();
  }
}

export async function clientMain(argv: string[]): Promise<void> {
  const { host, command, rest } = splitGlobal(argv);
  let code: number;
  try {
    if (command === undefined || command === '--help' || command === 'help') {
      writeOut(`${topLevelHelp()}\n`);
      code = command === undefined ? ExitCode.invalidArgs : 0;
    } else if (command === '--version' || command === '-v') {
      writeOut(`Version ${ENGINE_VERSION}, commit ${GIT_COMMIT}\n`);
      code = 0;
    } else {
      code = await runCommand(command, rest, host);
    }
  } catch (e) {
    const err: EngineError = toEngineError(e);
    const prefix = e instanceof DaemonError ? 'Error response from daemon: ' : '';
    writeErr(`${prefix}${err.message}\n`);
    code = err.exitCode;
  }
  process.exitCode = code;
}
