import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { eachContainer } from './each.js';

const kill: Command = {
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Kill one or more running containers',
  options: { signal: { alias: 's', type: 'string', default: 'SIGKILL', describe: 'Signal to send to the container' } },
  run: (args, ctx) =>
    eachContainer(ctx, positionals(args), 'kill', (id) => ctx.client().unary('ContainerService/Kill', { id, signal: str(args.signal) ?? 'SIGKILL' })),
};
export default kill;
