// An esbuild plugin: each Node built-in module that src/ imports (`import fs from 'node:fs'`,
// `import { spawn } from 'node:child_process'`) becomes one small module in the bundle,
// shared by every importer, instead of esbuild's interop copy per importing file.
//
// Why: bundling ES modules into CommonJS, esbuild wraps each file's
// `import ... from 'node:fs'` in `__toESM(require("node:fs"))`, an object with one getter
// closure (and its context and accessor pair) per export of the module. With 50 files importing
// node:fs, 50 node:path and so on, the daemon held ~7,500 such getters, over 1 MB of its heap
// (docs/design.md, "Daemon memory with a pod"). Here the shared module reads just the names
// that src/ imports, once.
import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /\bimport\s+(?!type\s)(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\})?\s*from\s*'(node:[\w/]+)'/g;
const STAR = /\bimport\s+\*\s+as\s+[\w$]+\s+from\s*'(node:[\w/]+)'/;

/** The named value imports of each `node:` module across the .ts files under DIR. */
function namedImports(dir) {
  const names = new Map();
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        const star = STAR.exec(text);
        if (star) throw new Error(`${p}: import * from '${star[1]}': name what it uses (build/node-builtins-once.mjs)`);
        for (const [, , list, mod] of text.matchAll(IMPORT)) {
          const set = names.get(mod) ?? new Set();
          names.set(mod, set);
          for (const spec of (list ?? '').split(',')) {
            const name = spec.trim().split(/\s+as\s+/)[0];
            if (name && !name.startsWith('type ')) set.add(name);
          }
        }
      }
    }
  };
  walk(dir);
  return names;
}

export function nodeBuiltinsOnce(srcDir) {
  const names = namedImports(srcDir);
  return {
    name: 'node-builtins-once',
    setup(build) {
      // Only static imports from our own files: a dependency's imports, `require` and `import()` stay as they were.
      build.onResolve({ filter: /^node:/ }, (args) => {
        if (args.kind !== 'import-statement' || args.namespace !== 'file' || !args.importer.startsWith(srcDir + path.sep)) return undefined;
        return { path: args.path, namespace: 'node-builtin' };
      });
      build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
        const list = [...(names.get(args.path) ?? [])];
        const lines = [`const m = require(${JSON.stringify(args.path)});`, 'export default m;'];
        if (list.length) lines.push(`export const { ${list.join(', ')} } = m;`);
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}
