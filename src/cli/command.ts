import type { Args, OptionTable } from './args.js';
import type { CliContext } from './context.js';

export type { Args };

/** One `isula` command: its flags, and what it does. Returns the process exit code. */
export interface Command {
  usage: string;
  describe: string;
  /** Stop flag parsing at the first positional: what follows belongs to the container. */
  haltAtPositional?: boolean;
  options?: OptionTable;
  /** `isula images prune`: a first word naming one of these runs it, with its own flags. */
  subcommands?: Readonly<Record<string, () => Promise<Command>>>;
  run(args: Args, ctx: CliContext): Promise<number>;
}

export const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
export const strList = (v: unknown): string[] => (v === undefined ? [] : ([] as unknown[]).concat(v).map(String));
export const positionals = (args: Args): string[] => args._.map(String);
