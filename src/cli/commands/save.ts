import { invalidArgs } from '../../api/errors.js';
import { receiveArchive } from '../archive-output.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';

const save: Command = {
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  describe: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  options: {
    output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' },
  },
  async run(args, ctx) {
    const names = positionals(args);
    if (names.length === 0) throw invalidArgs('"save" requires at least 1 argument: IMAGE');
    return receiveArchive(ctx, 'ImageService/Save', { names }, str(args.output));
  },
};
export default save;
