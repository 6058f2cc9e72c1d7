/** Execution: walks the parse tree over the data, with Go's error texts and positions. */
import { invalidArgs, type EngineError } from '../../../api/errors.js';
import { nodeString, oneLine, type Arg, type ChainNode, type CmdNode, type IdentNode, type Node, type PipeNode, type VarNode } from './ast.js';
import { CallError, type Param } from './builtins.js';
import { show } from './printf.js';
import { goQuote } from './strconv.js';
import { goType, isObj, keysOf, own, truth } from './values.js';

/** No value from a previous pipeline stage. */
const MISSING: unique symbol = Symbol('missing');

/** How a walk ends: normally, or by {{break}} / {{continue}} inside a range. */
enum Flow {
  Normal,
  Break,
  Continue,
}

export class Exec {
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
