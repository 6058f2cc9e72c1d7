import fs from 'node:fs';
import path from 'node:path';
import { generalError } from '../../api/errors.js';
import type { Command } from '../command.js';
import { str } from '../command.js';

const load: Command = {
  usage: 'load [OPTIONS] --input=FILE',
  describe: 'Load an image from a manifest or tar archive file',
  options: {
    input: { alias: 'i', type: 'string', describe: 'Read from a manifest or tar archive file' },
    type: { alias: 't', type: 'string', default: 'docker', describe: 'Image type: embedded or docker' },
    tag: { type: 'string', describe: 'Name and tag for the image (docker type only)' },
  },
  async run(args, ctx) {
    const type = str(args.type) ?? 'docker';
    if (type !== 'embedded' && type !== 'docker') throw generalError(`Invalid image type "${type}": want embedded or docker`);
    const input = str(args.input);
    if (!input) throw generalError('Missing image file: give it with -i/--input');
    const file = path.resolve(input);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw generalError(`File ${input} does not exist`);
    }
    if (st.isDirectory()) throw generalError(`File ${input} is a directory`);
    const tag = str(args.tag);
    const r = await ctx.client().unary('ImageService/Load', { path: file, type, ...(tag ? { tag } : {}) });
    // Archives: Docker's lines, one per name; embedded manifests: iSulad's line.
    if (r.loaded) for (const line of r.loaded) ctx.out(line);
    else ctx.out(`Load image from "${file}" success`);
    return r.name ? 0 : 1;
  },
};
export default load;
