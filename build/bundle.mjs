// One esbuild bundle of build/build.sh (the esbuild API: the CLI takes no plugins).
//   node build/bundle.mjs ENTRY OUT VERSION COMMIT BUILT [--import-meta] [--wrap] [--external=PKG]... [--define-file=NAME=FILE]...
// --import-meta: import.meta.url (used by a dependency of the daemon) is computed on first use:
//   building a file URL costs a client call 0.7 ms it never needs.
// --wrap: the bundle is one function of (exports, require, module, __filename, __dirname), as
//   CommonJS modules are, for src/main.ts to compile with vm.Script (and build/code-cache.mjs to cache).
// --external=PKG: PKG stays a require() (src/main.ts gives it from its own asset).
// --define-file=NAME=FILE: NAME is the text of FILE, a string.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { nodeBuiltinsOnce } from './node-builtins-once.mjs';

const [entry, outfile, version, commit, built, ...flags] = process.argv.slice(2);
const valued = (name) => flags.filter((f) => f.startsWith(`--${name}=`)).map((f) => f.slice(name.length + 3));
if (!built || flags.some((f) => f !== '--import-meta' && f !== '--wrap' && !/^--(external|define-file)=/.test(f))) {
  console.error('usage: node build/bundle.mjs ENTRY OUT VERSION COMMIT BUILT [--import-meta] [--wrap] [--external=PKG]... [--define-file=NAME=FILE]...');
  process.exit(2);
}
const external = valued('external');
const defineFiles = Object.fromEntries(
  valued('define-file').map((d) => [d.slice(0, d.indexOf('=')), JSON.stringify(fs.readFileSync(d.slice(d.indexOf('=') + 1), 'utf8'))]),
);
const importMeta = flags.includes('--import-meta');
const wrap = flags.includes('--wrap');
const banner = [
  wrap ? '(function (exports, require, module, __filename, __dirname) {' : '',
  importMeta ? "const __import_meta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" : '',
].join('');

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    __ISULAD_VERSION__: JSON.stringify(version),
    __ISULAD_GIT_COMMIT__: JSON.stringify(commit),
    __ISULAD_BUILD_TIME__: JSON.stringify(built),
    ...(importMeta ? { 'import.meta.url': '__import_meta.url' } : {}),
    ...defineFiles,
  },
  banner: banner ? { js: banner } : undefined,
  footer: wrap ? { js: '})' } : undefined,
  external,
  // A bundle runs in vm.Script, which has no import(): an external's import() becomes a require.
  supported: { 'dynamic-import': false },
  plugins: [nodeBuiltinsOnce(path.resolve('src'))],
});
