import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

/**
 * The one executable is both programs: invoked as `isulad` it is the daemon, as `isula`
 * (or anything else) the client. This loader is all that runs first; each program is its
 * own bundle, an asset of the single executable (files beside this one outside it), so an
 * `isula` call never compiles the daemon, five times larger.
 *
 * The client comes with a V8 code cache of every one of its functions (build/code-cache.mjs):
 * a call lives for a fraction of a second, and compiling the functions it runs on first use
 * was a third of its CPU. V8 checks the cache against the source, its own version and its
 * flags, and compiles from source when it does not fit or is missing.
 */
interface Program {
  main(argv: string[]): Promise<void>;
}

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
  getAsset(key: string, encoding: string): string;
}

const sea = require('node:sea') as SeaModule;
const inSea = sea.isSea();

function asset(name: string): Buffer | undefined {
  try {
    return inSea ? Buffer.from(sea.getAsset(name)) : fs.readFileSync(path.join(__dirname, name));
  } catch {
    return undefined;
  }
}

/** Runs the bundle NAME (an asset, build/build.sh) and returns its exports. */
function run(name: string): Record<string, unknown> {
  const code = asset(`${name}.cjs`);
  if (!code) throw new Error(`${name}.cjs is missing from this executable`);
  // build/build.sh wraps each bundle in `(function (exports, require, module, __filename, __dirname) {...})`.
  const script = new vm.Script(code.toString('utf8'), { filename: `${name}.cjs`, cachedData: asset(`${name}.cache`) });
  const wrapper = script.runInThisContext() as (exports: object, req: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;
  const module = { exports: {} as Record<string, unknown> };
  wrapper(module.exports, bundleRequire, module, process.execPath, path.dirname(process.execPath));
  return module.exports;
}

/**
 * The require the bundles see: Node's, and the packages build/build.sh keeps out of a bundle
 * as assets of their own, run on their first require.
 */
const ownAssets: Record<string, string> = { systeminformation: 'isulad-systeminformation' };
const loaded = new Map<string, unknown>();
const bundleRequire = Object.assign((id: string): unknown => {
  const name = ownAssets[id];
  if (name === undefined) return require(id);
  if (!loaded.has(id)) loaded.set(id, run(name));
  return loaded.get(id);
}, require) as NodeJS.Require;

function load(name: string, entry: string): Program {
  return { main: run(name)[entry] as Program['main'] };
}

const invokedAs = path.basename(process.argv[1] ?? process.argv0).replace(/\.c?js$/, '');
const isDaemon = invokedAs.startsWith('isulad');
// V8 flags for the daemon's memory (docs/design.md, "Daemon memory with a pod"), set before its
// bundle is compiled and run. Not for the client: a changed flag makes V8 reject the code
// caches made without it.
// - The young generation keeps its size (src/daemon/main.ts says why); set here, before the
//   bundle's start would grow it: 2 MB less resident.
// - No optimizing compiler (TurboFan): the daemon waits on the kernel, LXC and the network,
//   and its JavaScript runs in the interpreter and the baseline compiler; TurboFan's own code
//   paged in and its compilations cost 5-6 MB resident for no measured gain in speed.
if (isDaemon) {
  const v8 = require('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-opt');
}
const program = isDaemon ? load('isulad-daemon', 'daemonMain') : load('isula-client', 'clientMain');
void program.main(process.argv.slice(2));
