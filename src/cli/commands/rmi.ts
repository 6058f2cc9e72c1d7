import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { eachContainer } from './each.js';

const rmi: Command = {
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  describe: 'Remove one or more images',
  options: { force: { alias: 'f', type: 'boolean', describe: 'Force removal of the image' } },
  run: (args, ctx) =>
    eachContainer(
      ctx,
      positionals(args),
      'rmi',
      async (name) => {
        const r = await ctx.client().unary('ImageService/Remove', { name, force: args.force === true });
        for (const u of r.untagged ?? []) ctx.out(`Untagged: ${u}`);
        for (const d of r.deleted ?? []) ctx.out(`Deleted: ${d}`);
      },
      false,
    ),
};
export default rmi;
