import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const restart: Command = {
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Restart one or more containers',
  options: { time: { alias: 't', type: 'number', default: 10, describe: 'Seconds to wait for stop before killing it' } },
  run: (args, ctx) =>
    eachContainer(ctx, positionals(args), 'restart', (id) => ctx.client().unary('ContainerService/Restart', { id, timeout: Number(args.time) })),
};
export default restart;
