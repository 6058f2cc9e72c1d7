/** Values: plain JSON-like data. Objects are Go maps with sorted keys; a key whose value is undefined does not exist. */

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function keysOf(o: Obj): string[] {
  return Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
}

export function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** The Go type a decoded JSON value would have, for messages and %T. */
export function goType(v: unknown): string {
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
export function truth(v: unknown): boolean {
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
