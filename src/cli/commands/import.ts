import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { generalError, invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import type { CliContext } from '../context.js';

const importCommand: Command = {
  usage: 'import [OPTIONS] FILE|- REPOSITORY[:TAG]',
  describe: 'Import the contents from a tarball to create a filesystem image',
  async run(args, ctx) {
    const [file, ref, ...extra] = positionals(args);
    if (!file || !ref || extra.length > 0) throw invalidArgs('"import" requires exactly 2 arguments: FILE|- REPOSITORY[:TAG]');
    if (file === '-') return importStdin(ctx, ref);
    // The daemon reads the file (iSulad's way): give it an absolute path, checked here first for a clear message.
    const abs = path.resolve(file);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw generalError(`File ${file} does not exist`);
    }
    if (!st.isFile()) throw generalError(`File ${file} is not a regular file`);
    const r = await ctx.client().unary('ImageService/Import', { path: abs, reference: ref });
    ctx.out(r.id);
    return 0;
  },
};

/**
 * `import - REF` (Docker's): stdin goes to a private temp file on this host, which the daemon
 * then reads as it reads FILE; so `-` works where FILE does (a daemon on this host), with
 * no tarball held in memory.
 */
async function importStdin(ctx: CliContext, ref: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isula-import-'));
  try {
    const file = path.join(dir, 'stdin.tar');
    await pipeline(fs.createReadStream('', { fd: 0, autoClose: false }), fs.createWriteStream(file, { mode: 0o600 }));
    const r = await ctx.client().unary('ImageService/Import', { path: file, reference: ref, source: '-' });
    ctx.out(r.id);
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export default importCommand;
