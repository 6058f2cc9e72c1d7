import { invalidArgs } from '../api/errors.js';

export interface OptionSpec {
  /** One letter: the shorthand (`-n`); longer: a second long name (`--network` for `--net`). */
  alias?: string;
  type: 'string' | 'boolean' | 'number';
  /** May be given more than once, collecting every value; otherwise the last one wins. */
  list?: boolean;
  describe: string;
  default?: string | number | boolean;
}

/** A command's flags by long name. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** Parsed arguments: flags by long name (repeated flags give arrays), positionals in `_`. */
export type Args = Record<string, unknown> & { _: string[] };

/** Flags every command takes. */
export const GLOBAL_OPTIONS: OptionTable = {
  host: { alias: 'H', type: 'string', describe: 'Daemon socket to connect to' },
  debug: { alias: 'D', type: 'boolean', describe: 'Enable debug mode' },
  tls: { type: 'boolean', describe: 'Use TLS for a tcp:// host; implied by --tlsverify' },
  tlsverify: { type: 'boolean', describe: 'Use TLS and verify the daemon by --tlscacert' },
  tlscacert: { type: 'string', describe: 'Trust daemon certificates signed only by this CA (default /root/.iSulad/ca.pem)' },
  tlscert: { type: 'string', describe: 'Client TLS certificate (default /root/.iSulad/cert.pem)' },
  tlskey: { type: 'string', describe: 'Client TLS key (default /root/.iSulad/key.pem)' },
  help: { type: 'boolean', describe: 'Show help' },
};

function convert(name: string, spec: OptionSpec, raw: string): string | number | boolean {
  if (spec.type === 'string') return raw;
  if (spec.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) throw invalidArgs(`invalid argument "${raw}" for "--${name}" flag: not a number`);
    return n;
  }
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw invalidArgs(`invalid argument "${raw}" for "--${name}" flag: want true or false`);
}

/**
 * Parses argv by a flag table, as Docker's pflag does: `--name value`, `--name=value`,
 * `-n value`, `-nvalue`, grouped short booleans (`-dit`), `--` ends flags, and with
 * `haltAtPositional` everything from the first positional on belongs to the container.
 */
export function parseArgs(argv: string[], table: OptionTable, haltAtPositional: boolean): Args {
  const options = { ...GLOBAL_OPTIONS, ...table };
  const byAlias = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) if (spec.alias) byAlias.set(spec.alias, name);
  const out: Args = { _: [] };
  const set = (name: string, value: string | number | boolean): void => {
    const prev = out[name];
    out[name] = options[name]?.list ? ([] as unknown[]).concat(prev ?? [], value) : value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out._.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const given = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const name = given.length > 1 && !options[given] ? (byAlias.get(given) ?? given) : given;
      const spec = options[name];
      if (!spec) throw invalidArgs(`unknown flag: --${given}`);
      if (eq >= 0) set(name, convert(given, spec, arg.slice(eq + 1)));
      else if (spec.type === 'boolean') set(name, true);
      else if (i + 1 < argv.length) set(name, convert(given, spec, argv[++i]!));
      else throw invalidArgs(`flag needs an argument: --${given}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const short = arg[j]!;
        const name = byAlias.get(short);
        if (!name) throw invalidArgs(`unknown shorthand flag: '${short}' in ${arg}`);
        const spec = options[name]!;
        if (spec.type === 'boolean') {
          set(name, true);
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest !== '') set(name, convert(name, spec, rest));
        else if (i + 1 < argv.length) set(name, convert(name, spec, argv[++i]!));
        else throw invalidArgs(`flag needs an argument: '${short}' in -${short}`);
        break;
      }
      continue;
    }
    out._.push(arg);
    if (haltAtPositional) {
      out._.push(...argv.slice(i + 1));
      break;
    }
  }
  for (const [name, spec] of Object.entries(options)) if (out[name] === undefined && spec.default !== undefined) out[name] = spec.default;
  return out;
}
