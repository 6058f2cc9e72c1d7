import type { Argv } from 'yargs';
import type { CliContext } from './context.js';

/** Parsed arguments as yargs hands them over: flags by name, positionals in `_`. */
export type Args = Record<string, unknown> & { _: (string | number)[] };

/** One `isula` command: its flags, and what it does. Returns the process exit code. */
export interface Command {
  usage: string;
  describe: string;
  /** Stop flag parsing at the first positional: what follows belongs to the container. */
  haltAtPositional?: boolean;
  options?(y: Argv): Argv;
  run(args: Args, ctx: CliContext): Promise<number>;
}

export const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
export const strList = (v: unknown): string[] => (v === undefined ? [] : ([] as unknown[]).concat(v).map(String));
export const positionals = (args: Args): string[] => args._.map(String);
