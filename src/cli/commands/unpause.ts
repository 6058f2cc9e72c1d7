import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const unpause: Command = {
  usage: 'unpause CONTAINER [CONTAINER...]',
  describe: 'Unpause all processes within one or more containers',
  run: (args, ctx) => eachContainer(ctx, positionals(args), 'unpause', (id) => ctx.client().unary('ContainerService/Unpause', { id })),
};
export default unpause;
