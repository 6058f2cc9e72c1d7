/**
 * The loader of the Bun build (build/build.sh --runtime bun): the same two programs as
 * src/main.ts, picked by the name the executable is invoked by, `isulad...` the daemon and
 * anything else the client. A Bun single executable reports its embedded script as
 * process.argv[1]; the name it was invoked by is process.argv0. Bun compiles the whole bundle
 * to bytecode at build time, and a program's modules run only when imported here, so an
 * `isula` call never runs the daemon's code.
 */
const invokedAs = (process.argv0.split('/').pop() ?? '').replace(/\.c?js$/, '');
const argv = process.argv.slice(2);
if (invokedAs.startsWith('isulad')) void import('./daemon/main.js').then((m) => m.daemonMain(argv));
else void import('./cli/main.js').then((m) => m.clientMain(argv));
