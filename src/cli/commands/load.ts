import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { generalError } from '../../api/errors.js';
import type { Command } from '../command.js';
import { str } from '../command.js';
import { withStdinFile } from '../stdin-file.js';

const load: Command = {
  usage: 'load [OPTIONS] [--input=FILE]',
  describe: 'Load an image from a manifest or tar archive file',
  options: {
    input: { alias: 'i', type: 'string', describe: 'Read from a manifest or tar archive file, instead of STDIN' },
    type: { alias: 't', type: 'string', default: 'docker', describe: 'Image type: embedded or docker' },
    tag: { type: 'string', describe: 'Name and tag for the image (docker type only)' },
  },
  async run(args, ctx) {
    const type = str(args.type) ?? 'docker';
    if (type !== 'embedded' && type !== 'docker') throw generalError(`Invalid image type "${type}": want embedded or docker`);
    const input = str(args.input);
    const tag = str(args.tag);
    if (!input) {
      // Docker reads an archive from stdin without -i; a terminal there is a mistake.
      if (type !== 'docker' || tty.isatty(0)) throw generalError('Missing image file: give it with -i/--input, or pipe an archive to stdin');
      return withStdinFile(async (file) => {
        const r = await ctx.client().unary('ImageService/Load', { path: file, type, ...(tag ? { tag } : {}) });
        for (const line of r.loaded ?? []) ctx.out(line);
        return 0;
      });
    }
    const file = path.resolve(input);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw generalError(`File ${input} does not exist`);
    }
    if (st.isDirectory()) throw generalError(`File ${input} is a directory`);
    const r = await ctx.client().unary('ImageService/Load', { path: file, type, ...(tag ? { tag } : {}) });
    // Archives: Docker's lines, one per name; embedded manifests: iSulad's line.
    if (r.loaded) for (const line of r.loaded) ctx.out(line);
    else ctx.out(`Load image from "${file}" success`);
    return r.name ? 0 : 1;
  },
};
export default load;
