import type { Command } from '../command.js';
import { CREATE_OPTIONS, createRequestOf } from './create-flags.js';

const create: Command = {
  usage: 'create [OPTIONS] --external-rootfs=PATH|IMAGE [COMMAND] [ARG...]',
  describe: 'Create a new container',
  haltAtPositional: true,
  options: CREATE_OPTIONS,
  async run(args, ctx) {
    const { id } = await ctx.client().unary('ContainerService/Create', createRequestOf(args));
    ctx.out(id);
    return 0;
  },
};
export default create;
