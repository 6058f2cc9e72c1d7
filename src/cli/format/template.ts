/**
 * The subset of Go's text/template that `isula inspect -f` and `isula ps --format` accept, with
 * Docker's extra functions (json, split, join, title, lower, upper, pad, truncate). Output and
 * error texts follow Go's, so scripts written against docker/iSulad keep working.
 *
 * Data are plain JSON-like values. Like Docker's fallback over decoded JSON, objects act as Go
 * maps: a missing key yields `<no value>`, or with `missingKeyIsError` (Go's
 * `missingkey=error`, as `inspect -f` uses) fails; reaching through a non-object is an error.
 * Not supported: define/template/block (one template only), complex numbers, `%[n]` in printf.
 */
import { invalidArgs, type EngineError } from '../../api/errors.js';

export type Template = (data: unknown) => string;

export interface TemplateOptions {
  /** A field missing from a map fails (`map has no entry for key "X"`) instead of giving `<no value>`. */
  missingKeyIsError?: boolean;
}

/** Parses once; throws EngineError (invalidArgs) naming what is wrong, e.g. 'Template parsing error: template: :1: function "foo" not defined'. */
export function compileTemplate(text: string, options: TemplateOptions = {}): Template {
  const root = new Parser(lex(text)).parse();
  return (data: unknown): string => new Exec(text, data, options.missingKeyIsError === true).run(root);
}

// ---------------------------------------------------------------------------------------------
// Lexer: the whole input is tokenised up front; a lexing fault becomes a final 'error' token so
// the parser reports faults in source order, as Go's lazy lexer does.

type Kind =
  | 'error' | 'eof' | 'text' | 'leftDelim' | 'rightDelim' | 'space' | 'bool' | 'char' | 'charConst'
  | 'assign' | 'declare' | 'field' | 'ident' | 'leftParen' | 'rightParen' | 'number' | 'complex'
  | 'pipe' | 'rawString' | 'string' | 'variable'
  | 'block' | 'break' | 'continue' | 'dot' | 'define' | 'else' | 'end' | 'if' | 'nil' | 'range' | 'template' | 'with';

interface Token {
  kind: Kind;
  val: string;
  pos: number;
  line: number;
}

const KEYWORDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['block', 'block'], ['break', 'break'], ['continue', 'continue'], ['define', 'define'], ['else', 'else'],
  ['end', 'end'], ['if', 'if'], ['nil', 'nil'], ['range', 'range'], ['template', 'template'], ['with', 'with'],
]);
const KEYWORD_KINDS: ReadonlySet<Kind> = new Set<Kind>([...KEYWORDS.values(), 'dot']);

/** Go's trim-marker spaces, also the separators inside actions. */
const isSpaceCode = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10;

const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;
function isAlphaNumeric(cp: number): boolean {
  if (cp < 128) return cp === 95 || (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  return LETTER_OR_DIGIT.test(String.fromCodePoint(cp));
}

function lex(input: string): Token[] {
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

// ---------------------------------------------------------------------------------------------
// Parse tree.

interface FieldNode { k: 'field'; pos: number; names: string[] }
interface VarNode { k: 'var'; pos: number; name: string; names: string[] }
interface ChainNode { k: 'chain'; pos: number; node: Arg; names: string[] }
interface DotNode { k: 'dot'; pos: number }
interface NilNode { k: 'nil'; pos: number }
interface BoolNode { k: 'bool'; pos: number; value: boolean }
interface NumNode { k: 'num'; pos: number; value: number; text: string }
interface StrNode { k: 'str'; pos: number; value: string; text: string }
interface IdentNode { k: 'ident'; pos: number; name: string; fn: Builtin }
interface PipeNode { k: 'pipe'; pos: number; decl: string[]; isAssign: boolean; cmds: CmdNode[] }
interface CmdNode { k: 'cmd'; pos: number; args: Arg[] }

type Arg = FieldNode | VarNode | ChainNode | DotNode | NilNode | BoolNode | NumNode | StrNode | IdentNode | PipeNode;

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: PipeNode }
  | { k: 'if' | 'with' | 'range'; pipe: PipeNode; list: Node[]; elseList: Node[] | null }
  | { k: 'break' | 'continue' };

/** What textOrAction may return besides a node: the markers that close a list. */
type Marker = { k: 'end' } | { k: 'else' };

function parseError(line: number, msg: string): EngineError {
  return invalidArgs(oneLine(`Template parsing error: template: :${line}: ${msg}`));
}

class Parser {
  private i = 0;
  private far = 0;
  private readonly vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;

  constructor(private readonly toks: Token[]) {}

  parse(): Node[] {
    const root: Node[] = [];
    while (this.peek().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.k === 'end' || n.k === 'else') throw this.err(`unexpected {{${n.k}}}`);
      root.push(n);
    }
    return root;
  }

  // Token access. Errors use the line of the furthest token read, like Go's parser.
  private tok(idx: number): Token {
    const at = Math.min(idx, this.toks.length - 1);
    if (at > this.far) this.far = at;
    const t = this.toks[at] as Token;
    if (t.kind === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = `${t.val.endsWith(' action') ? '' : ' in action'} started at :${this.actionLine}`;
      }
      throw parseError(t.line, t.val + extra);
    }
    return t;
  }
  private next(): Token {
    return this.tok(this.i++);
  }
  private peek(): Token {
    return this.tok(this.i);
  }
  private backup(): void {
    this.i--;
  }
  private nextNonSpace(): Token {
    for (;;) {
      const t = this.next();
      if (t.kind !== 'space') return t;
    }
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }
  private err(msg: string): EngineError {
    return parseError((this.toks[this.far] as Token).line, msg);
  }
  private unexpected(t: Token, context: string): EngineError {
    return this.err(`unexpected ${tokenString(t)} in ${context}`);
  }
  private expect(kind: Kind, context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) throw this.unexpected(t, context);
    return t;
  }

  private itemList(): [Node[], Marker] {
    const list: Node[] = [];
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.k === 'end' || n.k === 'else') return [list, n];
      list.push(n);
    }
    throw this.err('unexpected EOF');
  }

  private textOrAction(): Node | Marker {
    const t = this.nextNonSpace();
    if (t.kind === 'text') return { k: 'text', text: t.val };
    if (t.kind !== 'leftDelim') throw this.unexpected(t, 'input');
    this.actionLine = t.line;
    const n = this.action();
    this.actionLine = 0;
    return n;
  }

  private action(): Node | Marker {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'block':
      case 'define':
      case 'template':
        throw this.err(`{{${t.kind}}} is not supported`);
      case 'break':
      case 'continue': {
        const n = this.nextNonSpace();
        if (n.kind !== 'rightDelim') throw this.unexpected(n, `{{${t.kind}}}`);
        if (this.rangeDepth === 0) throw this.err(`{{${t.kind}}} outside {{range}}`);
        return { k: t.kind };
      }
      case 'else': {
        // "{{else if ...}}" / "{{else with ...}}" leave the keyword for the enclosing control.
        const p = this.peekNonSpace();
        if (p.kind !== 'if' && p.kind !== 'with') this.expect('rightDelim', 'else');
        return { k: 'else' };
      }
      case 'end':
        this.expect('rightDelim', 'end');
        return { k: 'end' };
      case 'if':
      case 'range':
      case 'with':
        return this.control(t.kind);
      default:
        this.backup();
        return { k: 'action', pipe: this.pipeline('command', 'rightDelim') };
    }
  }

  private control(context: 'if' | 'range' | 'with'): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(context, 'rightDelim');
    if (context === 'range') this.rangeDepth++;
    const [list, next] = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (next.k === 'else') {
      const p = this.peek().kind;
      if ((context === 'if' && p === 'if') || (context === 'with' && p === 'with')) {
        // {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}.
        this.next();
        elseList = [this.control(context)];
      } else {
        const [els, end] = this.itemList();
        if (end.k !== 'end') throw this.err(`expected end; found {{${end.k}}}`);
        elseList = els;
      }
    }
    this.vars.length = mark;
    return { k: context, pipe, list, elseList };
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const pipe: PipeNode = { k: 'pipe', pos: this.peekNonSpace().pos, decl: [], isAssign: false, cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.kind !== 'variable') break;
      const save = this.i;
      this.next();
      const n = this.peekNonSpace();
      if (n.kind === 'assign' || n.kind === 'declare') {
        pipe.isAssign = n.kind === 'assign';
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        break;
      }
      if (n.kind === 'char' && n.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(v.val);
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = this.peekNonSpace().kind;
          if (k === 'variable' || k === 'rightDelim' || k === 'rightParen') continue;
          throw this.err('range can only initialize variables');
        }
        throw this.err(`too many declarations in ${context}`);
      }
      this.i = save; // "$x" is an operand, not a declaration
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        if (pipe.cmds.length === 0) throw this.err(`missing value for ${context}`);
        for (let i = 1; i < pipe.cmds.length; i++) {
          const k = (pipe.cmds[i] as CmdNode).args[0]?.k;
          if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'num' || k === 'str') {
            throw this.err(`non executable command in pipeline stage ${i + 1}`);
          }
        }
        return pipe;
      }
      switch (t.kind) {
        case 'bool': case 'charConst': case 'complex': case 'dot': case 'field': case 'ident': case 'number':
        case 'nil': case 'rawString': case 'string': case 'variable': case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          throw this.unexpected(t, context);
      }
    }
  }

  private command(): CmdNode {
    const cmd: CmdNode = { k: 'cmd', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup();
      else if (t.kind !== 'pipe') throw this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) throw this.err('empty command');
    return cmd;
  }

  private operand(): Arg | null {
    const node = this.term();
    if (!node || this.peek().kind !== 'field') return node;
    // Go positions a chain at its second field; error columns depend on it.
    const pos = this.peek().pos;
    const names: string[] = [];
    while (this.peek().kind === 'field') names.push(this.next().val.slice(1));
    switch (node.k) {
      case 'field':
        return { k: 'field', pos, names: [...node.names, ...names] };
      case 'var':
        return { k: 'var', pos, name: node.name, names: [...node.names, ...names] };
      case 'bool': case 'str': case 'num': case 'nil': case 'dot':
        throw this.err(`unexpected . after term ${goQuote(nodeString(node))}`);
      default:
        return { k: 'chain', pos, node, names };
    }
  }

  private term(): Arg | null {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'ident': {
        const fn = BUILTINS.get(t.val);
        if (!fn) throw this.err(`function ${goQuote(t.val)} not defined`);
        return { k: 'ident', pos: t.pos, name: t.val, fn };
      }
      case 'dot':
        return { k: 'dot', pos: t.pos };
      case 'nil':
        return { k: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.val)) throw this.err(`undefined variable ${goQuote(t.val)}`);
        return { k: 'var', pos: t.pos, name: t.val, names: [] };
      case 'field':
        return { k: 'field', pos: t.pos, names: [t.val.slice(1)] };
      case 'bool':
        return { k: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'complex':
        throw this.err(`complex numbers are not supported: ${goQuote(t.val)}`);
      case 'charConst': {
        const r = unquoteChar(t.val);
        if (r === null) throw this.err('invalid syntax');
        return { k: 'num', pos: t.pos, value: r, text: t.val };
      }
      case 'number': {
        const v = parseNumber(t.val);
        if (typeof v === 'string') throw this.err(v);
        return { k: 'num', pos: t.pos, value: v, text: t.val };
      }
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString': {
        const s = unquote(t.val);
        if (s === null) throw this.err('invalid syntax');
        return { k: 'str', pos: t.pos, value: s, text: t.val };
      }
      default:
        this.backup();
        return null;
    }
  }
}

/** Go's item.String(), used in "unexpected X in Y". */
function tokenString(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'error') return t.val;
  if (KEYWORD_KINDS.has(t.kind)) return `<${t.val}>`;
  const runes = [...t.val];
  return runes.length > 10 ? `${goQuote(runes.slice(0, 10).join(''))}...` : goQuote(t.val);
}

/** Go's Node.String(), used as error context. */
function nodeString(n: Arg | CmdNode): string {
  switch (n.k) {
    case 'field':
      return `.${n.names.join('.')}`;
    case 'var':
      return n.names.length ? `${n.name}.${n.names.join('.')}` : n.name;
    case 'chain':
      return `${n.node.k === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)}.${n.names.join('.')}`;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'num':
    case 'str':
      return n.text;
    case 'ident':
      return n.name;
    case 'pipe': {
      const decl = n.decl.length ? `${n.decl.join(', ')}${n.isAssign ? ' = ' : ' := '}` : '';
      return decl + n.cmds.map(nodeString).join(' | ');
    }
    case 'cmd':
      return n.args.map((a) => (a.k === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
  }
}

/** Go's number literal rules (strconv base 0); returns the value or an error message. */
function parseNumber(text: string): number | string {
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
function unquote(text: string): string | null {
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
function unquoteChar(text: string): number | null {
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

// ---------------------------------------------------------------------------------------------
// Values. Objects are Go maps with sorted keys; a key whose value is undefined does not exist.

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keysOf(o: Obj): string[] {
  return Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
}

function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** The Go type a decoded JSON value would have, for messages and %T. */
function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float64';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'object':
      return Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}';
    default:
      return 'interface {}';
  }
}

/** Go's truth for if/with/and/or/not: empty and zero values are false. */
function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    case 'object':
      return Array.isArray(v) ? v.length > 0 : keysOf(v as Obj).length > 0;
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------------
// fmt: Go's Sprint/Sprintln/Sprintf over JSON-like values.

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

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
function isPrint(cp: number): boolean {
  if (cp < 0x7f) return cp >= 0x20;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

function hexPad(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeRune(cp: number, quote: number, asciiOnly: boolean): string {
  if (cp === quote || cp === 92) return `\\${String.fromCharCode(cp)}`;
  if (asciiOnly ? cp >= 0x20 && cp < 0x7f : isPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 7: return '\\a';
    case 8: return '\\b';
    case 12: return '\\f';
    case 10: return '\\n';
    case 13: return '\\r';
    case 9: return '\\t';
    case 11: return '\\v';
    default:
      if (cp < 0x20 || cp === 0x7f) return `\\x${hexPad(cp, 2)}`;
      if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'; // lone surrogate: Go sees invalid UTF-8
      if (cp < 0x10000) return `\\u${hexPad(cp, 4)}`;
      return `\\U${hexPad(cp, 8)}`;
  }
}

/** strconv.Quote (or QuoteToASCII). */
function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0) as number, 34, asciiOnly);
  return `${out}"`;
}

function quoteRune(cp: number, asciiOnly = false): string {
  const r = cp > 0x10ffff || cp < 0 ? 0xfffd : cp;
  return `'${escapeRune(r, 39, asciiOnly)}'`;
}

/** Go's %#U style: U+0023 '#'. */
function formatU(cp: number): string {
  const u = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return isPrint(cp) ? `${u} '${String.fromCodePoint(cp)}'` : u;
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
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return fmtArg(v, 'v', PLAIN, true);
}

function sprint(args: readonly unknown[]): string {
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

function sprintln(args: readonly unknown[]): string {
  return `${args.map(show).join(' ')}\n`;
}

function sprintf(format: string, args: readonly unknown[]): string {
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
        case '#': f.sharp = true; break;
        case '0': f.zero = !f.minus; break;
        case '+': f.plus = true; break;
        case '-': f.minus = true; f.zero = false; break;
        case ' ': f.space = true; break;
        default: break flags;
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

// ---------------------------------------------------------------------------------------------
// Functions: Go's builtins plus Docker's. A CallError becomes "error calling NAME: ...".

class CallError extends Error {}

/** How an argument is checked before the call, like Go's reflect-based conversion. */
type Param = 'any' | 'string' | 'int' | 'strings';

interface Builtin {
  params: readonly Param[];
  /** Type of the arguments after `params`; absent for fixed arity. */
  rest?: Param;
  fn: (args: unknown[]) => unknown;
}

type Cmp = 'bool' | 'num' | 'string' | 'nil' | 'other';
function cmpKind(v: unknown): Cmp {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number':
    case 'bigint': return 'num';
    case 'string': return 'string';
    default: return 'other';
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
    if (a == b) return true; // loose: a number and a bigint compare by value
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
      case '\\': out += '\\\\'; break;
      case "'": out += "\\'"; break;
      case '"': out += '\\"'; break;
      case '<': out += '\\u003C'; break;
      case '>': out += '\\u003E'; break;
      case '&': out += '\\u0026'; break;
      case '=': out += '\\u003D'; break;
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

const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
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

// ---------------------------------------------------------------------------------------------
// Execution.

/** No value from a previous pipeline stage. */
const MISSING: unique symbol = Symbol('missing');

/** How a walk ends: normally, or by {{break}} / {{continue}} inside a range. */
const enum Flow {
  Normal,
  Break,
  Continue,
}

function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}

class Exec {
  private out = '';
  private readonly vars: { name: string; value: unknown }[];
  private at: Arg | CmdNode | null = null;

  constructor(
    private readonly text: string,
    private readonly data: unknown,
    private readonly missingKeyIsError: boolean,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  run(root: readonly Node[]): string {
    this.walk(this.data, root);
    return this.out;
  }

  private fail(msg: string): EngineError {
    const n = this.at;
    if (!n) return invalidArgs(oneLine(`template: : ${msg}`));
    const before = this.text.slice(0, n.pos);
    const nl = before.lastIndexOf('\n');
    let line = 1;
    for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
    const col = Buffer.byteLength(before.slice(nl + 1), 'utf8');
    let ctx = nodeString(n);
    if (ctx.length > 20) ctx = `${ctx.slice(0, 20)}...`;
    return invalidArgs(oneLine(`template: :${line}:${col}: executing "" at <${ctx}>: ${msg}`));
  }

  private walk(dot: unknown, list: readonly Node[]): Flow {
    for (const n of list) {
      switch (n.k) {
        case 'text':
          this.out += n.text;
          break;
        case 'action': {
          const v = this.evalPipeline(dot, n.pipe);
          if (n.pipe.decl.length === 0) this.out += v === undefined ? '<no value>' : show(v);
          break;
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length;
          const v = this.evalPipeline(dot, n.pipe);
          let flow = Flow.Normal;
          if (truth(v)) flow = this.walk(n.k === 'with' ? v : dot, n.list);
          else if (n.elseList) flow = this.walk(dot, n.elseList);
          this.vars.length = mark;
          if (flow !== Flow.Normal) return flow;
          break;
        }
        case 'range':
          this.walkRange(dot, n.pipe, n.list, n.elseList);
          break;
        case 'break':
          return Flow.Break;
        case 'continue':
          return Flow.Continue;
      }
    }
    return Flow.Normal;
  }

  private walkRange(dot: unknown, pipe: PipeNode, list: readonly Node[], elseList: readonly Node[] | null): void {
    const mark0 = this.vars.length;
    const val = this.evalPipeline(dot, pipe);
    const mark = this.vars.length;
    const nd = pipe.decl.length;
    const one = (key: unknown, elem: unknown): Flow => {
      if (nd > 0) {
        if (pipe.isAssign) {
          this.setVar(pipe.decl[0] as string, nd > 1 ? key : elem);
          if (nd > 1) this.setVar(pipe.decl[1] as string, elem);
        } else {
          // With two variables the first gets the index/key, the second the element.
          (this.vars[mark - 1] as { value: unknown }).value = elem;
          if (nd > 1) (this.vars[mark - 2] as { value: unknown }).value = key;
        }
      }
      const flow = this.walk(elem, list);
      this.vars.length = mark;
      return flow;
    };
    let ran = false;
    if (Array.isArray(val)) {
      for (let i = 0; i < val.length; i++) {
        ran = true;
        if (one(i, val[i] ?? null) === Flow.Break) break;
      }
    } else if (isObj(val)) {
      for (const k of keysOf(val)) {
        ran = true;
        if (one(k, val[k]) === Flow.Break) break;
      }
    } else if (typeof val === 'number' && Number.isInteger(val)) {
      // Go 1.22 ranges over an integer n as 0..n-1.
      if (nd > 1) {
        this.at = pipe;
        throw this.fail(`can't use ${val} to iterate over more than one variable`);
      }
      for (let i = 0; i < val; i++) {
        ran = true;
        if (one(i, i) === Flow.Break) break;
      }
    } else if (val !== null && val !== undefined) {
      this.at = pipe;
      throw this.fail(`range can't iterate over ${show(val)}`);
    }
    if (!ran && elseList) this.walk(dot, elseList);
    this.vars.length = mark0;
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as { name: string; value: unknown };
      if (v.name === name) return v.value;
    }
    throw this.fail(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as { name: string; value: unknown };
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    throw this.fail(`undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at = pipe;
    let v: unknown = MISSING;
    for (const cmd of pipe.cmds) v = this.evalCommand(dot, cmd, v);
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, v);
      else this.vars.push({ name, value: v });
    }
    return v;
  }

  private notAFunction(args: readonly Arg[], final: unknown): void {
    if (args.length > 1 || final !== MISSING) throw this.fail(`can't give argument to non-function ${nodeString(args[0] as Arg)}`);
  }

  private evalCommand(dot: unknown, cmd: CmdNode, final: unknown): unknown {
    const first = cmd.args[0] as Arg;
    switch (first.k) {
      case 'field':
        this.at = first;
        return this.evalFieldChain(dot, first.names, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'ident':
        this.at = first;
        return this.evalCall(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'var':
        return this.evalVariable(first, cmd.args, final);
      default:
        break;
    }
    this.at = first;
    this.notAFunction(cmd.args, final);
    switch (first.k) {
      case 'bool':
      case 'num':
      case 'str':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        throw this.fail('nil is not a command');
    }
  }

  private evalVariable(v: VarNode, args: readonly Arg[], final: unknown): unknown {
    this.at = v;
    const value = this.varValue(v.name);
    if (v.names.length === 0) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(value, v.names, args, final);
  }

  private evalChain(dot: unknown, chain: ChainNode, args: readonly Arg[], final: unknown): unknown {
    this.at = chain;
    if (chain.node.k === 'nil') throw this.fail(`indirection through explicit nil in ${nodeString(chain)}`);
    const recv = this.evalArg(dot, chain.node);
    this.at = chain;
    return this.evalFieldChain(recv, chain.names, args, final);
  }

  /** Walks .A.B.C from receiver; only the last step may see arguments (and then fails: maps have no methods). */
  private evalFieldChain(receiver: unknown, names: readonly string[], args: readonly Arg[], final: unknown): unknown {
    const last = names.length - 1;
    for (let i = 0; i <= last; i++) {
      const name = names[i] as string;
      if (receiver === undefined) return undefined; // missing stays missing, as Go's invalid value
      if (receiver === null) throw this.fail(`nil pointer evaluating interface {}.${name}`);
      if (!isObj(receiver)) throw this.fail(`can't evaluate field ${name} in type ${goType(receiver)}`);
      if (i === last && (args.length > 1 || final !== MISSING)) throw this.fail(`${name} is not a method but has arguments`);
      receiver = own(receiver, name);
      if (receiver === undefined && this.missingKeyIsError) throw this.fail(`map has no entry for key ${goQuote(name)}`);
    }
    return receiver;
  }

  private evalArg(dot: unknown, n: Arg): unknown {
    this.at = n;
    switch (n.k) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'num':
      case 'str':
        return n.value;
      case 'field':
        return this.evalFieldChain(dot, n.names, [n], MISSING);
      case 'var':
        return this.evalVariable(n, [n], MISSING);
      case 'pipe':
        return this.evalPipeline(dot, n);
      case 'ident':
        return this.evalCall(dot, n, n, [n], MISSING);
      case 'chain':
        return this.evalChain(dot, n, [n], MISSING);
    }
  }

  /** Converts an argument as Go would for a parameter of the given type. */
  private check(v: unknown, p: Param): unknown {
    switch (p) {
      case 'any':
        return v === undefined ? null : v;
      case 'string':
        if (typeof v === 'string') return v;
        break;
      case 'int':
        if (typeof v === 'number' && Number.isInteger(v)) return v;
        break;
      case 'strings':
        if (v === null || v === undefined) return [];
        // Lenient where Go wants []string: other elements are printed as %v.
        if (Array.isArray(v)) return v.map((e) => (typeof e === 'string' ? e : show(e)));
        break;
    }
    const want = p === 'strings' ? '[]string' : p;
    if (v === null || v === undefined) throw this.fail(`invalid value; expected ${want}`);
    throw this.fail(`wrong type for value; expected ${want}; got ${goType(v)}`);
  }

  private evalCall(dot: unknown, ident: IdentNode, node: IdentNode | CmdNode, args: readonly Arg[], final: unknown): unknown {
    const { name, fn } = ident;
    const given = args.length - 1;
    const numIn = given + (final !== MISSING ? 1 : 0);
    if (fn.rest !== undefined) {
      if (numIn < fn.params.length) throw this.fail(`wrong number of args for ${name}: want at least ${fn.params.length} got ${given}`);
    } else if (numIn !== fn.params.length) {
      throw this.fail(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    if (name === 'and' || name === 'or') {
      // Short-circuit: the first deciding operand is the result.
      let v: unknown = null;
      for (let i = 1; i < args.length; i++) {
        v = this.check(this.evalArg(dot, args[i] as Arg), 'any');
        if (truth(v) === (name === 'or')) return v;
      }
      return final !== MISSING ? this.check(final, 'any') : v;
    }
    const vals: unknown[] = [];
    for (let i = 1; i < args.length; i++) {
      const a = args[i] as Arg;
      const v = this.evalArg(dot, a);
      this.at = a;
      vals.push(this.check(v, fn.params[i - 1] ?? (fn.rest as Param)));
    }
    if (final !== MISSING) {
      this.at = node;
      vals.push(this.check(final, fn.params[vals.length] ?? (fn.rest as Param)));
    }
    try {
      return fn.fn(vals);
    } catch (err) {
      if (!(err instanceof CallError)) throw err;
      this.at = node;
      throw this.fail(`error calling ${name}: ${err.message}`);
    }
  }
}
