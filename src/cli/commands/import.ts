import fs from 'node:fs';
import path from 'node:path';
import { generalError, invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import type { CliContext } from '../context.js';
import { withStdinFile } from '../stdin-file.js';

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

/** `import - REF` (Docker's): the tarball from stdin. */
function importStdin(ctx: CliContext, ref: string): Promise<number> {
  return withStdinFile(async (file) => {
    const r = await ctx.client().unary('ImageService/Import', { path: file, reference: ref, source: '-' });
    ctx.out(r.id);
    return 0;
  });
}

export default importCommand;
