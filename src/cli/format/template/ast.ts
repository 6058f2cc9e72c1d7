/** The parse tree the parser builds and the executor walks, and how errors of both name it. */
import type { Builtin } from './builtins.js';

interface FieldNode {
  k: 'field';
  pos: number;
  names: string[];
}
export interface VarNode {
  k: 'var';
  pos: number;
  name: string;
  names: string[];
}
export interface ChainNode {
  k: 'chain';
  pos: number;
  node: Arg;
  names: string[];
}
interface DotNode {
  k: 'dot';
  pos: number;
}
interface NilNode {
  k: 'nil';
  pos: number;
}
interface BoolNode {
  k: 'bool';
  pos: number;
  value: boolean;
}
interface NumNode {
  k: 'num';
  pos: number;
  value: number;
  text: string;
}
interface StrNode {
  k: 'str';
  pos: number;
  value: string;
  text: string;
}
export interface IdentNode {
  k: 'ident';
  pos: number;
  name: string;
  fn: Builtin;
}
export interface PipeNode {
  k: 'pipe';
  pos: number;
  decl: string[];
  isAssign: boolean;
  cmds: CmdNode[];
}
export interface CmdNode {
  k: 'cmd';
  pos: number;
  args: Arg[];
}

export type Arg = FieldNode | VarNode | ChainNode | DotNode | NilNode | BoolNode | NumNode | StrNode | IdentNode | PipeNode;

export type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: PipeNode }
  | { k: 'if' | 'with' | 'range'; pipe: PipeNode; list: Node[]; elseList: Node[] | null }
  | { k: 'break' | 'continue' };

/** Go's Node.String(), used as error context. */
export function nodeString(n: Arg | CmdNode): string {
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

/** Errors are one line: a newline of the template or the data shows as \n. */
export function oneLine(s: string): string {
  return s.replace(/\r?\n/g, '\\n');
}
