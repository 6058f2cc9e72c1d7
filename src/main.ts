import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * The one executable is both programs: invoked as `isulad` it is the daemon, as `isula`
 * (or anything else) the client. The client is this bundle; the daemon, five times larger
 * (gRPC server, systeminformation), is a separate bundle kept as an asset of the single
 * executable and compiled only when the daemon starts, so every `isula` call stays small.
 */
const invokedAs = path.basename(process.argv[1] ?? process.argv0).replace(/\.c?js$/, '');
const argv = process.argv.slice(2);

interface DaemonBundle {
  daemonMain(argv: string[]): Promise<void>;
}

function loadDaemonBundle(): DaemonBundle {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as { isSea(): boolean; getAsset(key: string, encoding: string): string };
  const code = sea.isSea() ? sea.getAsset('isulad-daemon.cjs', 'utf8') : fs.readFileSync(path.join(__dirname, 'isulad-daemon.cjs'), 'utf8');
  const wrapper = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: 'isulad-daemon.cjs' }) as (
    exports: object,
    req: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  wrapper(module.exports, require, module, process.execPath, path.dirname(process.execPath));
  return module.exports as DaemonBundle;
}

if (invokedAs.startsWith('isulad')) {
  void loadDaemonBundle().daemonMain(argv);
} else {
  // A client call lives for a fraction of a second: optimising compiles never pay back.
  v8.setFlagsFromString('--no-opt');
  void import('./cli/main.js').then((m) => m.clientMain(argv));
}
