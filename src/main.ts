import path from 'node:path';

/**
 * The one executable is both programs: invoked as `isulad` it is the daemon, as `isula`
 * (or anything else) the client. Each side loads only its own code.
 */
const invokedAs = path.basename(process.argv[1] ?? process.argv0).replace(/\.c?js$/, '');
const argv = process.argv.slice(2);

if (invokedAs.startsWith('isulad')) {
  void import('./daemon/main.js').then((m) => m.daemonMain(argv));
} else {
  void import('./cli/main.js').then((m) => m.clientMain(argv));
}
