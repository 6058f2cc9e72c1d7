import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const stop: Command = {
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Stop one or more containers',
  options: {
    time: { alias: 't', type: 'number', default: 10, describe: 'Seconds to wait for stop before killing it' },
    force: { alias: 'f', type: 'boolean', describe: 'Stop container by force killing it' },
  },
  run: (args, ctx) =>
    eachContainer(ctx, positionals(args), 'stop', (id) =>
      ctx.client().unary('ContainerService/Stop', { id, timeout: Number(args.time), force: args.force === true }),
    ),
};
export default stop;
