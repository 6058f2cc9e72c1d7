import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';

const tag: Command = {
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  describe: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  async run(args, ctx) {
    const names = positionals(args);
    if (names.length !== 2) throw invalidArgs('"tag" requires exactly 2 arguments');
    await ctx.client().unary('ImageService/Tag', { source: names[0]!, target: names[1]! });
    return 0;
  },
};
export default tag;
