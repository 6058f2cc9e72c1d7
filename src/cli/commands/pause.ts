import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const pause: Command = {
  usage: 'pause CONTAINER [CONTAINER...]',
  describe: 'Pause all processes within one or more containers',
  run: (args, ctx) => eachContainer(ctx, positionals(args), 'pause', (id) => ctx.client().unary('ContainerService/Pause', { id })),
};
export default pause;
