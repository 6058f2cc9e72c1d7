import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const rm: Command = {
  usage: 'rm [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Remove one or more containers',
  options: { force: { alias: 'f', type: 'boolean', describe: 'Force the removal of a running container (uses SIGKILL)' } },
  run: (args, ctx) => eachContainer(ctx, positionals(args), 'rm', (id) => ctx.client().unary('ContainerService/Remove', { id, force: args.force === true })),
};
export default rm;
