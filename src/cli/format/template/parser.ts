/** Parser: Go's text/template grammar over the lexer's tokens, with Go's error texts. */
import { invalidArgs, type EngineError } from '../../../api/errors.js';
import { nodeString, oneLine, type Arg, type CmdNode, type Node, type PipeNode } from './ast.js';
import { BUILTINS } from './builtins.js';
import { KEYWORD_KINDS, type Kind, type Token } from './lexer.js';
import { goQuote, parseNumber, unquote, unquoteChar } from './strconv.js';

/** What textOrAction may return besides a node: the markers that close a list. */
type Marker = { k: 'end' } | { k: 'else' };

function parseError(line: number, msg: string): EngineError {
  return invalidArgs(oneLine(`Template parsing error: template: :${line}: ${msg}`));
}

export class Parser {
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
        case 'bool':
        case 'charConst':
        case 'complex':
        case 'dot':
        case 'field':
        case 'ident':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
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
      case 'bool':
      case 'str':
      case 'num':
      case 'nil':
      case 'dot':
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
