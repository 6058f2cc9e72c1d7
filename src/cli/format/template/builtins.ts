/** Functions: Go's builtins plus Docker's. A CallError becomes "error calling NAME: ...". */
import { show, sprint, sprintf, sprintln } from './printf.js';
import { hexPad, isAlphaNumeric, isPrint, LETTER_OR_DIGIT } from './strconv.js';
import { goType, isObj, keysOf, own, truth } from './values.js';

export class CallError extends Error {}

/** How an argument is checked before the call, like Go's reflect-based conversion. */
export type Param = 'any' | 'string' | 'int' | 'strings';

export interface Builtin {
  params: readonly Param[];
  /** Type of the arguments after `params`; absent for fixed arity. */
  rest?: Param;
  fn: (args: unknown[]) => unknown;
}

type Cmp = 'bool' | 'num' | 'string' | 'nil' | 'other';
function cmpKind(v: unknown): Cmp {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'num';
    case 'string':
      return 'string';
    default:
      return 'other';
  }
}

function eq(a: unknown, rest: readonly unknown[]): boolean {
  if (rest.length === 0) throw new CallError('missing argument for comparison');
  const ka = cmpKind(a);
  for (const b of rest) {
    const kb = cmpKind(b);
    if (ka !== kb) {
      if (ka !== 'nil' && kb !== 'nil') throw new CallError('incompatible types for comparison');
      continue;
    }
    if (ka === 'nil') return true;
    if (ka === 'other') throw new CallError(`non-comparable type ${show(a)}: ${goType(a)}`);
    // biome-ignore lint/suspicious/noDoubleEquals: loose on purpose, a number and a bigint compare by value
    if (a == b) return true;
  }
  return false;
}

function lt(a: unknown, b: unknown): boolean {
  const ka = cmpKind(a);
  const kb = cmpKind(b);
  if (ka === 'nil' || ka === 'other' || kb === 'nil' || kb === 'other') throw new CallError('invalid type for comparison');
  if (ka !== kb) throw new CallError('incompatible types for comparison');
  if (ka === 'bool') throw new CallError('invalid type for comparison');
  return (a as number | string) < (b as number | string);
}

function indexArg(ix: unknown, cap: number): number {
  if (ix === null || ix === undefined) throw new CallError('cannot index slice/array with nil');
  if (!((typeof ix === 'number' && Number.isInteger(ix)) || typeof ix === 'bigint')) {
    throw new CallError(`cannot index slice/array with type ${goType(ix)}`);
  }
  const x = Number(ix);
  if (x < 0 || x > cap) throw new CallError(`index out of range: ${x}`);
  return x;
}

function index(item: unknown, idx: readonly unknown[]): unknown {
  if (item === null || item === undefined) throw new CallError('index of untyped nil');
  for (const ix of idx) {
    if (item === null || item === undefined) throw new CallError('index of nil pointer');
    if (typeof item === 'string' || Array.isArray(item)) {
      // Go indexes strings by byte.
      const seq = typeof item === 'string' ? Buffer.from(item, 'utf8') : item;
      const x = indexArg(ix, seq.length);
      if (x >= seq.length) throw new CallError(`index out of range: ${x}`);
      item = seq[x] ?? null;
    } else if (isObj(item)) {
      if (ix !== null && ix !== undefined && typeof ix !== 'string') throw new CallError(`value has type ${goType(ix)}; should be string`);
      item = own(item, typeof ix === 'string' ? ix : '');
    } else {
      throw new CallError(`can't index item of type ${goType(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, idx: readonly unknown[]): unknown {
  if (item === null || item === undefined) throw new CallError('slice of untyped nil');
  if (idx.length > 3) throw new CallError(`too many slice indexes: ${idx.length}`);
  let seq: Buffer | unknown[];
  if (typeof item === 'string') {
    if (idx.length === 3) throw new CallError('cannot 3-index slice a string');
    seq = Buffer.from(item, 'utf8');
  } else if (Array.isArray(item)) {
    seq = item;
  } else {
    throw new CallError(`can't slice item of type ${goType(item)}`);
  }
  const bounds = [0, seq.length, seq.length];
  idx.forEach((ix, i) => {
    bounds[i] = indexArg(ix, seq.length);
  });
  const [lo, hi, max] = bounds as [number, number, number];
  if (lo > hi) throw new CallError(`invalid slice index: ${lo} > ${hi}`);
  if (idx.length === 3 && hi > max) throw new CallError(`invalid slice index: ${hi} > ${max}`);
  return typeof item === 'string' ? (seq as Buffer).subarray(lo, hi).toString('utf8') : (seq as unknown[]).slice(lo, hi);
}

function length(v: unknown): number {
  if (v === null || v === undefined) throw new CallError('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (isObj(v)) return keysOf(v).length;
  throw new CallError(`len of type ${goType(v)}`);
}

/** Go's evalArgs for html/js/urlquery: one string as is, anything else through Sprint. */
function evalArgs(args: readonly unknown[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '<':
        out += '\\u003C';
        break;
      case '>':
        out += '\\u003E';
        break;
      case '&':
        out += '\\u0026';
        break;
      case '=':
        out += '\\u003D';
        break;
      default:
        if (cp < 0x20) out += `\\u00${hexPad(cp, 2).toUpperCase()}`;
        else if (cp < 0x80 || isPrint(cp)) out += ch;
        else out += `\\u${hexPad(cp, 4).toUpperCase()}`;
    }
  }
  return out;
}

function queryEscape(s: string): string {
  let enc: string;
  try {
    enc = encodeURIComponent(s);
  } catch {
    throw new CallError('invalid UTF-16 in string');
  }
  return enc.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

/** Go's unicode-aware case mapping keeps a character whose mapping is not a single character. */
function mapRunes(s: string, map: (ch: string) => string): string {
  let out = '';
  for (const ch of s) {
    const m = map(ch);
    out += m.length === ch.length || [...m].length === 1 ? m : ch;
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, control characters included
const ASCII = /^[\x00-\x7f]*$/;
const upper = (s: string): string => (ASCII.test(s) ? s.toUpperCase() : mapRunes(s, (c) => c.toUpperCase()));
const lower = (s: string): string => (ASCII.test(s) ? s.toLowerCase() : mapRunes(s, (c) => c.toLowerCase()));

/** strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let out = '';
  let prevSep = true;
  for (const ch of s) {
    out += prevSep ? mapRunes(ch, (c) => c.toUpperCase()) : ch;
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) prevSep = !isAlphaNumeric(cp);
    else prevSep = !LETTER_OR_DIGIT.test(ch) && /\s/u.test(ch);
  }
  return out;
}

/** Go's json.Marshal without HTML escaping, as Docker's `json` does. */
function json(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (err) {
    throw new CallError(`json: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (s === undefined) return 'null';
  return s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const A = ['any'] as const;
const AA = ['any', 'any'] as const;

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  // and/or short-circuit and are evaluated by Exec; fn is unused.
  ['and', { params: A, rest: 'any', fn: () => null }],
  ['or', { params: A, rest: 'any', fn: () => null }],
  ['not', { params: A, fn: ([a]) => !truth(a) }],
  ['len', { params: A, fn: ([a]) => length(a) }],
  ['index', { params: A, rest: 'any', fn: ([a, ...rest]) => index(a, rest) }],
  ['slice', { params: A, rest: 'any', fn: ([a, ...rest]) => slice(a, rest) }],
  ['print', { params: [], rest: 'any', fn: (args) => sprint(args) }],
  ['println', { params: [], rest: 'any', fn: (args) => sprintln(args) }],
  ['printf', { params: ['string'], rest: 'any', fn: ([f, ...rest]) => sprintf(f as string, rest) }],
  ['eq', { params: A, rest: 'any', fn: ([a, ...rest]) => eq(a, rest) }],
  ['ne', { params: AA, fn: ([a, b]) => !eq(a, [b]) }],
  ['lt', { params: AA, fn: ([a, b]) => lt(a, b) }],
  ['le', { params: AA, fn: ([a, b]) => lt(a, b) || eq(a, [b]) }],
  ['gt', { params: AA, fn: ([a, b]) => !(lt(a, b) || eq(a, [b])) }],
  ['ge', { params: AA, fn: ([a, b]) => !lt(a, b) }],
  ['html', { params: [], rest: 'any', fn: (args) => htmlEscape(evalArgs(args)) }],
  ['js', { params: [], rest: 'any', fn: (args) => jsEscape(evalArgs(args)) }],
  ['urlquery', { params: [], rest: 'any', fn: (args) => queryEscape(evalArgs(args)) }],
  [
    'call',
    {
      params: A,
      rest: 'any',
      fn: ([f]) => {
        throw new CallError(f === null || f === undefined ? 'call of nil' : `non-function of type ${goType(f)}`);
      },
    },
  ],
  // Docker's additions (cli/templates).
  ['json', { params: A, fn: ([a]) => json(a) }],
  ['split', { params: ['string', 'string'], fn: ([s, sep]) => (sep === '' ? [...(s as string)] : (s as string).split(sep as string)) }],
  ['join', { params: ['strings', 'string'], fn: ([a, sep]) => (a as string[]).join(sep as string) }],
  ['title', { params: ['string'], fn: ([s]) => title(s as string) }],
  ['lower', { params: ['string'], fn: ([s]) => lower(s as string) }],
  ['upper', { params: ['string'], fn: ([s]) => upper(s as string) }],
  [
    'pad',
    {
      params: ['string', 'int', 'int'],
      fn: ([s, pre, post]) => {
        if ((pre as number) < 0 || (post as number) < 0) throw new CallError('strings: negative Repeat count');
        return s === '' ? s : ' '.repeat(pre as number) + (s as string) + ' '.repeat(post as number);
      },
    },
  ],
  [
    'truncate',
    {
      params: ['string', 'int'],
      fn: ([s, n]) => {
        const b = Buffer.from(s as string, 'utf8');
        if (b.length < (n as number)) return s;
        if ((n as number) < 0) throw new CallError(`slice bounds out of range [:${n as number}]`);
        return b.subarray(0, n as number).toString('utf8');
      },
    },
  ],
]);
