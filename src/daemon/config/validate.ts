import { invalidArgs, type EngineError } from '../../api/errors.js';
import { olderReleaseKeys } from './ignored.js';
import { daemonJsonKeys, mapValueShapes, objectShapes, type KeyType } from './schema.js';

function typeMismatch(where: string, want: KeyType): EngineError {
  const names: Record<KeyType, string> = {
    string: 'a string',
    boolean: 'true or false',
    integer: 'an integer',
    'string[]': 'an array of strings',
    'string-map': 'an object of strings',
    'object-map': 'an object of objects',
    object: 'an object',
  };
  return invalidArgs(`daemon.json: "${where}" must be ${names[want]}`);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkValue(where: string, value: unknown, type: KeyType, shape?: Record<string, KeyType>): void {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw typeMismatch(where, type);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeMismatch(where, type);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeMismatch(where, type);
      return;
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw typeMismatch(where, type);
      return;
    case 'string-map':
      if (!isPlainObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw typeMismatch(where, type);
      return;
    case 'object-map':
      if (!isPlainObject(value)) throw typeMismatch(where, type);
      for (const [k, v] of Object.entries(value)) checkValue(`${where}.${k}`, v, 'object', shape);
      return;
    case 'object':
      if (!isPlainObject(value)) throw typeMismatch(where, type);
      if (!shape) return;
      for (const [k, v] of Object.entries(value)) {
        const memberType = shape[k];
        if (!memberType) throw invalidArgs(`daemon.json: unknown key "${where}.${k}"`);
        checkValue(`${where}.${k}`, v, memberType);
      }
      return;
  }
}

/** Edit distance, for naming the key a misspelt one was probably meant to be. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function suggestion(key: string): string {
  const [near] = [...Object.keys(daemonJsonKeys), ...Object.keys(olderReleaseKeys)]
    .map((k) => ({ k, d: distance(k, key) }))
    .filter(({ d }) => d <= 2)
    .sort((a, b) => a.d - b.d);
  return near ? ` (did you mean "${near.k}"?)` : '';
}

/** Checks a parsed daemon.json against the schema; throws naming the first bad key. */
export function validateDaemonJson(doc: unknown): Record<string, unknown> {
  if (!isPlainObject(doc)) throw invalidArgs('daemon.json: the top level must be a JSON object');
  for (const [key, value] of Object.entries(doc)) {
    const type = daemonJsonKeys[key] ?? olderReleaseKeys[key];
    if (!type) throw invalidArgs(`daemon.json: unknown key "${key}"${suggestion(key)}`);
    checkValue(key, value, type, objectShapes[key] ?? mapValueShapes[key]);
  }
  return doc;
}
