// Writes a V8 code cache holding every function of a bundle, for src/main.ts to load with it.
//   NODE build/code-cache.mjs BUNDLE CACHE
// Run it with the very Node binary the executable is made from: V8 accepts a cache only from
// its own version and build, with the same flags. Node's own SEA code cache holds just the
// code compiled while the script is first compiled, i.e. the top level; here V8 compiles
// eagerly (--no-lazy) and is set back to lazy before the cache is written, so the cache
// carries the flags of a normal start and every function's bytecode.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

const [bundle, out] = process.argv.slice(2);
if (!bundle || !out) {
  console.error('usage: node build/code-cache.mjs BUNDLE CACHE');
  process.exit(2);
}
const source = fs.readFileSync(bundle, 'utf8');
const filename = path.basename(bundle);

v8.setFlagsFromString('--no-lazy');
const script = new vm.Script(source, { filename });
v8.setFlagsFromString('--lazy');
const cache = script.createCachedData();

if (new vm.Script(source, { filename, cachedData: cache }).cachedDataRejected) {
  console.error(`${bundle}: V8 rejects the code cache it has just made`);
  process.exit(1);
}
fs.writeFileSync(out, cache);
