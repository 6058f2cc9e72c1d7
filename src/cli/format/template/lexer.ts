/**
 * Lexer: the whole input is tokenised up front; a lexing fault becomes a final 'error' token so
 * the parser reports faults in source order, as Go's lazy lexer does.
 */
import { formatU, goQuote, isAlphaNumeric } from './strconv.js';

export type Kind =
  | 'error'
  | 'eof'
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'bool'
  | 'char'
  | 'charConst'
  | 'assign'
  | 'declare'
  | 'field'
  | 'ident'
  | 'leftParen'
  | 'rightParen'
  | 'number'
  | 'complex'
  | 'pipe'
  | 'rawString'
  | 'string'
  | 'variable'
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

export interface Token {
  kind: Kind;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['block', 'block'],
  ['break', 'break'],
  ['continue', 'continue'],
  ['define', 'define'],
  ['else', 'else'],
  ['end', 'end'],
  ['if', 'if'],
  ['nil', 'nil'],
  ['range', 'range'],
  ['template', 'template'],
  ['with', 'with'],
]);
export const KEYWORD_KINDS: ReadonlySet<Kind> = new Set<Kind>([...KEYWORDS.values(), 'dot']);

/** Go's trim-marker spaces, also the separators inside actions. */
const isSpaceCode = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

export function lex(input: string): Token[] {
  const toks: Token[] = [];
  const len = input.length;
  let line = 1;
  let lineAt = 0;
  const lineOf = (p: number): number => {
    for (; lineAt < p; lineAt++) if (input.charCodeAt(lineAt) === 10) line++;
    return line;
  };
  const emit = (kind: Kind, val: string, pos: number): void => {
    toks.push({ kind, val, pos, line: lineOf(pos) });
  };
  const fail = (msg: string, pos: number): Token[] => {
    emit('error', msg, pos);
    return toks;
  };
  // 0: no right delimiter here; 1: "}}"; 2: " -}}" (trim following space).
  const atRightDelim = (p: number): 0 | 1 | 2 => {
    if (isSpaceCode(input.charCodeAt(p)) && input.charCodeAt(p + 1) === 45 && input.startsWith('}}', p + 2)) return 2;
    return input.startsWith('}}', p) ? 1 : 0;
  };
  const skipSpaces = (p: number): number => {
    while (p < len && isSpaceCode(input.charCodeAt(p))) p++;
    return p;
  };
  const atTerminator = (p: number): boolean => {
    if (p >= len) return true;
    const c = input.charCodeAt(p);
    // space . , | : ) (
    if (isSpaceCode(c) || c === 46 || c === 44 || c === 124 || c === 58 || c === 41 || c === 40) return true;
    return input.startsWith('}}', p);
  };
  const scanAlnum = (p: number): number => {
    while (p < len) {
      const cp = input.codePointAt(p) as number;
      if (!isAlphaNumeric(cp)) break;
      p += cp > 0xffff ? 2 : 1;
    }
    return p;
  };
  const badChar = (p: number): string => `bad character ${formatU(input.codePointAt(p) as number)}`;
  // Returns the end of a quoted run starting at p (the quote), or -1 if unterminated.
  const scanQuoted = (p: number, quote: number): number => {
    for (let i = p + 1; i < len; i++) {
      const c = input.charCodeAt(i);
      if (c === 92) {
        i++;
        if (i >= len || input.charCodeAt(i) === 10) return -1;
      } else if (c === 10) {
        return -1;
      } else if (c === quote) {
        return i + 1;
      }
    }
    return -1;
  };
  // Go's scanNumber: returns [end, ok]; on failure end includes the offending character.
  const scanNumber = (start: number): [number, boolean] => {
    let p = start;
    const accept = (set: string): boolean => {
      if (p < len && set.includes(input[p] as string)) {
        p++;
        return true;
      }
      return false;
    };
    const acceptRun = (set: string): void => {
      while (p < len && set.includes(input[p] as string)) p++;
    };
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (p < len) {
      const cp = input.codePointAt(p) as number;
      if (isAlphaNumeric(cp)) return [p + (cp > 0xffff ? 2 : 1), false];
    }
    return [p, true];
  };

  let pos = 0;
  for (;;) {
    const x = input.indexOf('{{', pos);
    if (x < 0) {
      if (pos < len) emit('text', input.slice(pos), pos);
      emit('eof', '', len);
      return toks;
    }
    const trimLeft = input.charCodeAt(x + 2) === 45 && isSpaceCode(input.charCodeAt(x + 3));
    let textEnd = x;
    if (trimLeft) while (textEnd > pos && isSpaceCode(input.charCodeAt(textEnd - 1))) textEnd--;
    if (textEnd > pos) emit('text', input.slice(pos, textEnd), pos);
    const inner = x + 2 + (trimLeft ? 2 : 0);

    if (input.startsWith('/*', inner)) {
      const close = input.indexOf('*/', inner + 2);
      if (close < 0) return fail('unclosed comment', inner);
      const d = atRightDelim(close + 2);
      if (d === 0) return fail('comment ends before closing delimiter', inner);
      pos = close + 2 + (d === 2 ? 4 : 2);
      if (d === 2) pos = skipSpaces(pos);
      continue;
    }

    emit('leftDelim', '{{', x);
    pos = inner;
    let depth = 0;
    for (;;) {
      const d = atRightDelim(pos);
      if (d !== 0) {
        if (depth !== 0) return fail('unclosed left paren', pos);
        const at = d === 2 ? pos + 2 : pos;
        emit('rightDelim', '}}', at);
        pos = at + 2;
        if (d === 2) pos = skipSpaces(pos);
        break;
      }
      if (pos >= len) return fail('unclosed action', pos);
      const c = input.charCodeAt(pos);
      if (isSpaceCode(c)) {
        let p = skipSpaces(pos);
        // The last space may belong to a " -}}" delimiter.
        if (input.charCodeAt(p) === 45 && input.startsWith('}}', p + 1)) {
          p--;
          if (p === pos) continue;
        }
        emit('space', input.slice(pos, p), pos);
        pos = p;
        continue;
      }
      switch (c) {
        case 61: // =
          emit('assign', '=', pos);
          pos++;
          continue;
        case 58: // :
          if (input.charCodeAt(pos + 1) !== 61) return fail('expected :=', pos);
          emit('declare', ':=', pos);
          pos += 2;
          continue;
        case 124: // |
          emit('pipe', '|', pos);
          pos++;
          continue;
        case 34: // "
        case 39: {
          // '
          const end = scanQuoted(pos, c);
          if (end < 0) return fail(c === 34 ? 'unterminated quoted string' : 'unterminated character constant', pos);
          emit(c === 34 ? 'string' : 'charConst', input.slice(pos, end), pos);
          pos = end;
          continue;
        }
        case 96: {
          // `
          const end = input.indexOf('`', pos + 1);
          if (end < 0) return fail('unterminated raw quoted string', pos);
          emit('rawString', input.slice(pos, end + 1), pos);
          pos = end + 1;
          continue;
        }
        case 36: {
          // $
          let p = pos + 1;
          if (!atTerminator(p)) {
            p = scanAlnum(p);
            if (!atTerminator(p)) return fail(badChar(p), pos);
          }
          emit('variable', input.slice(pos, p), pos);
          pos = p;
          continue;
        }
        case 40: // (
          depth++;
          emit('leftParen', '(', pos);
          pos++;
          continue;
        case 41: // )
          depth--;
          if (depth < 0) return fail('unexpected right paren', pos);
          emit('rightParen', ')', pos);
          pos++;
          continue;
        case 46: {
          // '.' starts a field unless a digit follows (then it is a number such as .5).
          const n = input.charCodeAt(pos + 1);
          if (n >= 48 && n <= 57) break;
          let p = pos + 1;
          if (atTerminator(p)) {
            emit('dot', '.', pos);
            pos = p;
            continue;
          }
          p = scanAlnum(p);
          if (!atTerminator(p)) return fail(badChar(p), pos);
          emit('field', input.slice(pos, p), pos);
          pos = p;
          continue;
        }
        default:
          break;
      }
      if (c === 46 || c === 43 || c === 45 || (c >= 48 && c <= 57)) {
        const [end, ok] = scanNumber(pos);
        if (!ok) return fail(`bad number syntax: ${goQuote(input.slice(pos, end))}`, pos);
        const s = input.charCodeAt(end);
        if (s === 43 || s === 45) {
          // Complex literal such as 1+2i.
          const [end2, ok2] = scanNumber(end);
          if (!ok2 || input[end2 - 1] !== 'i') return fail(`bad number syntax: ${goQuote(input.slice(pos, end2))}`, pos);
          emit('complex', input.slice(pos, end2), pos);
          pos = end2;
        } else {
          emit('number', input.slice(pos, end), pos);
          pos = end;
        }
        continue;
      }
      const cp = input.codePointAt(pos) as number;
      if (isAlphaNumeric(cp)) {
        const p = scanAlnum(pos);
        if (!atTerminator(p)) return fail(badChar(p), pos);
        const word = input.slice(pos, p);
        emit(KEYWORDS.get(word) ?? (word === 'true' || word === 'false' ? 'bool' : 'ident'), word, pos);
        pos = p;
        continue;
      }
      if (c >= 0x20 && c < 0x7f) {
        emit('char', input[pos] as string, pos);
        pos++;
        continue;
      }
      return fail(`unrecognized character in action: ${formatU(cp)}`, pos);
    }
  }
}
