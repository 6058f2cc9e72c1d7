import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';

const rename: Command = {
  usage: 'rename CONTAINER NEW_NAME',
  describe: 'Rename a container',
  async run(args, ctx) {
    const [id, newName, ...extra] = positionals(args);
    if (!id || !newName || extra.length > 0) throw invalidArgs('"rename" requires exactly 2 arguments: CONTAINER NEW_NAME');
    await ctx.client().unary('ContainerService/Rename', { id, newName });
    return 0;
  },
};
export default rename;
