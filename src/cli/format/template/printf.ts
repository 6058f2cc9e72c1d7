/** fmt: Go's Sprint/Sprintln/Sprintf over JSON-like values. */
import { goQuote, hexPad, quoteRune } from './strconv.js';
import { goType, keysOf, type Obj } from './values.js';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  wid: number; // -1: absent
  prec: number; // -1: absent
}

const PLAIN: Spec = Object.freeze({ minus: false, plus: false, sharp: false, space: false, zero: false, wid: -1, prec: -1 });

function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

function pad(s: string, f: Spec, zeroOK = true): string {
  if (f.wid < 0) return s;
  const n = f.wid - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  return (zeroOK && f.zero ? '0' : ' ').repeat(n) + s;
}

function fmtInteger(v: number | bigint, base: number, verb: string, f: Spec): string {
  const big = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? null : BigInt(v);
  const neg = big !== null ? big < 0n : (v as number) < 0;
  if (f.prec === 0 && (big !== null ? big === 0n : v === 0)) return pad('', f, false);
  let digits = big !== null ? (big < 0n ? -big : big).toString(base) : Math.abs(v as number).toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  let prec = f.prec;
  if (prec < 0 && f.zero && !f.minus && f.wid >= 0) prec = neg || f.plus || f.space ? f.wid - 1 : f.wid;
  if (prec > digits.length) digits = '0'.repeat(prec - digits.length) + digits;
  if (f.sharp) {
    if (base === 8 && digits[0] !== '0') digits = `0${digits}`;
    else if (base === 16) digits = (verb === 'X' ? '0X' : '0x') + digits;
    else if (base === 2) digits = `0b${digits}`;
  }
  if (verb === 'O') digits = `0o${digits}`;
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  return pad(sign + digits, f, false);
}

/** Go exponent form: at least two exponent digits. */
function goExp(mantissa: string, exp: number, upper: boolean): string {
  const e = Math.abs(exp);
  return `${mantissa}${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
}

/** %g with Go's rules; prec < 0 means the shortest representation that round-trips. */
function fmtG(a: number, prec: number, upper: boolean): string {
  let digits = '0';
  let exp = 0;
  if (a !== 0) {
    const s = prec < 0 ? a.toExponential() : a.toExponential(Math.min(Math.max(prec, 1), 101) - 1);
    const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s) as RegExpExecArray;
    digits = (m[1] as string) + (m[2] ?? '');
    exp = Number(m[3]);
    digits = digits.replace(/0+$/, '') || '0';
  }
  const nd = digits.length;
  const dp = exp + 1;
  let eprec = prec < 0 ? 6 : prec === 0 ? 1 : prec;
  if (prec >= 0 && eprec > nd && nd >= dp) eprec = nd;
  if (exp < -4 || exp >= eprec) return goExp(nd > 1 ? `${digits[0]}.${digits.slice(1)}` : digits, exp, upper);
  if (dp <= 0) return `0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= nd) return digits + '0'.repeat(dp - nd);
  return `${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

function fmtFloat(v: number, verb: string, defPrec: number, f: Spec): string {
  const prec = f.prec >= 0 ? f.prec : defPrec;
  if (Number.isNaN(v)) return pad(f.plus ? '+NaN' : f.space ? ' NaN' : 'NaN', f, false);
  if (!Number.isFinite(v)) return pad(v < 0 ? '-Inf' : f.space && !f.plus ? ' Inf' : '+Inf', f, false);
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let num: string;
  switch (verb) {
    case 'e':
    case 'E': {
      const [m, e] = a.toExponential(Math.min(prec, 100)).split('e') as [string, string];
      num = goExp(m, Number(e), verb === 'E');
      break;
    }
    case 'f':
    case 'F':
      num = a < 1e21 ? a.toFixed(Math.min(prec, 100)) : BigInt(a).toString() + (prec > 0 ? `.${'0'.repeat(prec)}` : '');
      break;
    default:
      num = fmtG(a, prec, verb === 'G');
  }
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  if (f.zero && !f.minus && f.wid > sign.length + num.length) return sign + '0'.repeat(f.wid - sign.length - num.length) + num;
  return pad(sign + num, f, false);
}

function badVerb(verb: string, v: unknown): string {
  const what = v === null || v === undefined ? '<nil>' : `${goType(v)}=${fmtArg(v, 'v', PLAIN, true)}`;
  return `%!${verb}(${what})`;
}

function fmtIntVerb(v: number | bigint, verb: string, f: Spec): string {
  switch (verb) {
    case 'v':
    case 'd':
      return fmtInteger(v, 10, verb, f);
    case 'b':
      return fmtInteger(v, 2, verb, f);
    case 'o':
    case 'O':
      return fmtInteger(v, 8, verb, f);
    case 'x':
    case 'X':
      return fmtInteger(v, 16, verb, f);
    case 'c': {
      const cp = Number(v);
      return pad(cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd', f);
    }
    case 'q':
      return pad(quoteRune(Number(v), f.plus), f);
    case 'U':
      return pad(`U+${v.toString(16).toUpperCase().padStart(4, '0')}`, f);
    // Integral JSON numbers may have been floats in Go; let float verbs format them.
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      return fmtFloat(Number(v), verb, 6, f);
    case 'g':
    case 'G':
      return fmtFloat(Number(v), verb, -1, f);
    default:
      return badVerb(verb, v);
  }
}

function fmtFloatVerb(v: number, verb: string, f: Spec): string {
  switch (verb) {
    case 'v':
      return fmtFloat(v, 'g', -1, f);
    case 'g':
    case 'G':
      return fmtFloat(v, verb, -1, f);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      return fmtFloat(v, verb, 6, f);
    default:
      return badVerb(verb, v);
  }
}

function canBackquote(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Go's strconv.CanBackquote refuses exactly these characters
  return !/[`\u0000-\u0008\u000a-\u001f\u007f\ufeff]/.test(s);
}

function fmtString(s: string, verb: string, f: Spec): string {
  if (f.prec >= 0 && runeCount(s) > f.prec) s = [...s].slice(0, f.prec).join('');
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, f);
    case 'q':
      return pad(f.sharp && canBackquote(s) ? `\`${s}\`` : goQuote(s, f.plus), f);
    case 'x':
    case 'X': {
      const px = f.sharp ? (verb === 'X' ? '0X' : '0x') : '';
      const bytes = [...Buffer.from(s, 'utf8')].map((b) => hexPad(b, 2));
      const hex = f.space ? bytes.map((b) => px + b).join(' ') : px + bytes.join('');
      return pad(verb === 'X' ? hex.toUpperCase() : hex, f);
    }
    default:
      return badVerb(verb, s);
  }
}

/** Formats one operand like fmt's printArg/printValue; `top` distinguishes a bare nil operand. */
function fmtArg(v: unknown, verb: string, f: Spec, top: boolean): string {
  if (verb === 'T') return pad(goType(v), f);
  if (v === null || v === undefined) return top && verb !== 'v' ? badVerb(verb, v) : pad('<nil>', f);
  switch (typeof v) {
    case 'string':
      return fmtString(v, verb, f);
    case 'boolean':
      return verb === 'v' || verb === 't' ? pad(String(v), f) : badVerb(verb, v);
    case 'number':
      return Number.isInteger(v) ? fmtIntVerb(v, verb, f) : fmtFloatVerb(v, verb, f);
    case 'bigint':
      return fmtIntVerb(v, verb, f);
    case 'object': {
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) s += ' ';
          s += fmtArg(v[i], verb, f, false);
        }
        return `${s}]`;
      }
      const o = v as Obj;
      return `map[${keysOf(o)
        .map((k) => `${fmtArg(k, verb, f, false)}:${fmtArg(o[k], verb, f, false)}`)
        .join(' ')}]`;
    }
    default:
      return pad(String(v), f);
  }
}

/** fmt.Sprint(v) for one value, with fast paths for the common cases. */
export function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return fmtArg(v, 'v', PLAIN, true);
}

export function sprint(args: readonly unknown[]): string {
  let out = '';
  let prevString = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const isString = typeof a === 'string';
    // Go adds spaces between operands when neither side is a string.
    if (i > 0 && !isString && !prevString) out += ' ';
    out += show(a);
    prevString = isString;
  }
  return out;
}

export function sprintln(args: readonly unknown[]): string {
  return `${args.map(show).join(' ')}\n`;
}

export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argNum = 0;
  const end = format.length;
  let i = 0;
  const intArg = (): number | null => {
    const a = args[argNum++];
    return typeof a === 'number' && Number.isInteger(a) ? a : null;
  };
  while (i < end) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, wid: -1, prec: -1 };
    flags: for (; i < end; i++) {
      switch (format[i]) {
        case '#':
          f.sharp = true;
          break;
        case '0':
          f.zero = !f.minus;
          break;
        case '+':
          f.plus = true;
          break;
        case '-':
          f.minus = true;
          f.zero = false;
          break;
        case ' ':
          f.space = true;
          break;
        default:
          break flags;
      }
    }
    if (format[i] === '*') {
      i++;
      const w = intArg();
      if (w === null) out += '%!(BADWIDTH)';
      else if (w < 0) {
        f.minus = true;
        f.zero = false;
        f.wid = -w;
      } else f.wid = w;
    } else {
      const m = /^\d+/.exec(format.slice(i, i + 10));
      if (m) {
        f.wid = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = intArg();
        if (p === null) out += '%!(BADPREC)';
        else if (p >= 0) f.prec = p;
      } else {
        const m = /^\d+/.exec(format.slice(i, i + 10));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    const cp = format.codePointAt(i) as number;
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argNum++], verb, f, true);
  }
  if (argNum < args.length) {
    const extra = args.slice(argNum).map((a) => (a === null || a === undefined ? '<nil>' : `${goType(a)}=${fmtArg(a, 'v', PLAIN, true)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
