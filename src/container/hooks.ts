import type { OciHook, OciHooks } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import { BoundedReadError, readBoundedRegularFile } from '../sys/bounded-read.js';

export type { OciHooks };

const STAGES = ['prestart', 'poststart', 'poststop'] as const;

/** A hook spec names a few programs: some hundred bytes; 1 MiB leaves room for thousands of hooks. */
const MAX_HOOK_SPEC_BYTES = 1024 * 1024;

/** Reads and checks a --hook-spec file: an absolute path to JSON with OCI hooks. */
export async function readHookSpec(file: string): Promise<OciHooks> {
  if (!file.startsWith('/')) throw invalidArgs(`--hook-spec ${file}: must be an absolute path`);
  let doc: unknown;
  try {
    doc = JSON.parse((await readBoundedRegularFile(file, MAX_HOOK_SPEC_BYTES)).toString('utf8'));
  } catch (e) {
    throw invalidArgs(`--hook-spec ${file}: ${e instanceof BoundedReadError ? e.message : 'not valid JSON'}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidArgs(`--hook-spec ${file}: want a JSON object`);
  const hooks: OciHooks = {};
  for (const [stage, list] of Object.entries(doc)) {
    if (!(STAGES as readonly string[]).includes(stage)) throw invalidArgs(`--hook-spec ${file}: unknown hook stage "${stage}"`);
    if (!Array.isArray(list)) throw invalidArgs(`--hook-spec ${file}: ${stage} must be an array`);
    hooks[stage as (typeof STAGES)[number]] = list.map((h: unknown, i) => {
      const hook = h as OciHook;
      const where = `${stage}[${i}]`;
      if (typeof hook?.path !== 'string' || !hook.path.startsWith('/')) throw invalidArgs(`--hook-spec ${file}: ${where}.path must be an absolute path`);
      if (hook.args !== undefined && (!Array.isArray(hook.args) || hook.args.some((a) => typeof a !== 'string')))
        throw invalidArgs(`--hook-spec ${file}: ${where}.args must be strings`);
      if (hook.env !== undefined && (!Array.isArray(hook.env) || hook.env.some((a) => typeof a !== 'string')))
        throw invalidArgs(`--hook-spec ${file}: ${where}.env must be strings`);
      if (hook.timeout !== undefined && (!Number.isInteger(hook.timeout) || hook.timeout <= 0))
        throw invalidArgs(`--hook-spec ${file}: ${where}.timeout must be a positive integer`);
      return hook;
    });
  }
  return hooks;
}
