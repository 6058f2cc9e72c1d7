/**
 * The subset of Go's text/template that `isula inspect -f` and `isula ps --format` accept, with
 * Docker's extra functions (json, split, join, title, lower, upper, pad, truncate). Output and
 * error texts follow Go's, so scripts written against docker/iSulad keep working.
 *
 * Data are plain JSON-like values. Like Docker's fallback over decoded JSON, objects act as Go
 * maps: a missing key yields `<no value>`, or with `missingKeyIsError` (Go's
 * `missingkey=error`, as `inspect -f` uses) fails; reaching through a non-object is an error.
 * Not supported: define/template/block (one template only), complex numbers, `%[n]` in printf.
 *
 * By job: lexer.ts -> parser.ts (the tree in ast.ts) -> exec.ts; below them builtins.ts (the
 * functions), printf.ts (fmt), strconv.ts (quoting, literals) and values.ts (Go's view of JSON).
 */
import { Exec } from './exec.js';
import { lex } from './lexer.js';
import { Parser } from './parser.js';

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
