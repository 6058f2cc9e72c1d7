/**
 * Go's strconv for templates: quoting (strconv.Quote, %q, %U), parsing literals (strconv.Unquote,
 * ParseInt with base 0), and the Unicode classes of Go's lexer and strings.Title.
 */

export const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;
export function isAlphaNumeric(cp: number): boolean {
  if (cp < 128) return cp === 95 || (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  return LETTER_OR_DIGIT.test(String.fromCodePoint(cp));
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
export function isPrint(cp: number): boolean {
  if (cp < 0x7f) return cp >= 0x20;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

export function hexPad(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeRune(cp: number, quote: number, asciiOnly: boolean): string {
  if (cp === quote || cp === 92) return `\\${String.fromCharCode(cp)}`;
  if (asciiOnly ? cp >= 0x20 && cp < 0x7f : isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
    default:
      if (cp < 0x20 || cp === 0x7f) return `\\x${hexPad(cp, 2)}`;
      if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'; // lone surrogate: Go sees invalid UTF-8
      if (cp < 0x10000) return `\\u${hexPad(cp, 4)}`;
      return `\\U${hexPad(cp, 8)}`;
  }
}

/** strconv.Quote (or QuoteToASCII). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0) as number, 34, asciiOnly);
  return `${out}"`;
}

export function quoteRune(cp: number, asciiOnly = false): string {
  const r = cp > 0x10ffff || cp < 0 ? 0xfffd : cp;
  return `'${escapeRune(r, 39, asciiOnly)}'`;
}

/** Go's %#U style: U+0023 '#'. */
export function formatU(cp: number): string {
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return isPrint(cp) ? `${u} '${String.fromCodePoint(cp)}'` : u;
}

/** Go's number literal rules (strconv base 0); returns the value or an error message. */
export function parseNumber(text: string): number | string {
  if (text.endsWith('i')) return `complex numbers are not supported: ${goQuote(text)}`;
  const neg = text[0] === '-';
  const body = (text[0] === '-' || text[0] === '+' ? text.slice(1) : text).replace(/_/g, '');
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(body)) v = parseInt(body.slice(2), 8);
  else if (/^0[bB][01]+$/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[0-7]+$/.test(body)) v = parseInt(body, 8);
  else if (/^0\d+$/.test(body)) return `integer overflow: ${goQuote(text)}`;
  else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) v = Number(body);
  else return `illegal number syntax: ${goQuote(text)}`;
  return neg ? -v : v;
}

/** One escape after a backslash at s[i]; returns [text, next index] or null. */
function readEscape(s: string, i: number, quote: string): [string, number] | null {
  const e = s[i + 1];
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  if (e === undefined) return null;
  if (e in simple) return [simple[e] as string, i + 2];
  if (e === quote) return [e, i + 2];
  const hex = (n: number): [string, number] | null => {
    const h = s.slice(i + 2, i + 2 + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) return null;
    const cp = parseInt(h, 16);
    if (n > 2 && (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) return null;
    return [String.fromCodePoint(cp), i + 2 + n];
  };
  if (e === 'x') return hex(2);
  if (e === 'u') return hex(4);
  if (e === 'U') return hex(8);
  if (e >= '0' && e <= '7') {
    const o = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) return null;
    return [String.fromCharCode(parseInt(o, 8)), i + 4];
  }
  return null;
}

/** strconv.Unquote for "..." and `...` literals; null means invalid syntax. */
export function unquote(text: string): string | null {
  const body = text.slice(1, -1);
  if (text[0] === '`') return body.replace(/\r/g, '');
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; ) {
    if (body[i] !== '\\') {
      out += body[i];
      i++;
      continue;
    }
    const r = readEscape(body, i, '"');
    if (!r) return null;
    out += r[0];
    i = r[1];
  }
  return out;
}

/** A character constant such as 'a' or '\n' as its code point; null if malformed. */
export function unquoteChar(text: string): number | null {
  const body = text.slice(1, -1);
  let ch: string;
  if (body[0] === '\\') {
    const r = readEscape(body, 0, "'");
    if (!r || r[1] !== body.length) return null;
    ch = r[0];
  } else {
    ch = body;
  }
  const cp = ch.codePointAt(0);
  if (cp === undefined || ch.length !== (cp > 0xffff ? 2 : 1)) return null;
  return cp;
}
