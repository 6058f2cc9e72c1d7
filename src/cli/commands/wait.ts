import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const wait: Command = {
  usage: 'wait CONTAINER [CONTAINER...]',
  describe: 'Block until one or more containers stop, then print their exit codes',
  run: (args, ctx) =>
    eachContainer(ctx, positionals(args), 'wait', async (id) => ctx.out(String((await ctx.client().unary('ContainerService/Wait', { id })).exitCode)), false),
};
export default wait;
