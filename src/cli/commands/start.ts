import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { attachAndStart } from '../stream.js';
import { eachContainer } from './each.js';

const start: Command = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Start one or more stopped containers',
  options: {
    attach: { alias: 'a', type: 'boolean', describe: "Attach container's STDOUT and STDERR" },
    interactive: { alias: 'i', type: 'boolean', describe: "Attach container's STDIN" },
  },
  async run(args, ctx) {
    const refs = positionals(args);
    if (args.attach === true && refs.length === 1) {
      const { json } = await ctx.client().unary('ContainerService/Inspect', { id: refs[0]! });
      const tty = (JSON.parse(json) as { Config: { Tty: boolean } }).Config.Tty;
      return attachAndStart(ctx.client(), refs[0]!, args.interactive === true, tty);
    }
    return eachContainer(ctx, refs, 'start', (id) => ctx.client().unary('ContainerService/Start', { id }));
  },
};
export default start;
