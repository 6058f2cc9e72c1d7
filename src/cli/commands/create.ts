import type { Command } from '../command.js';
import { createWithPull } from '../create-pull.js';
import { CREATE_OPTIONS, createRequestOf } from './create-flags.js';

const create: Command = {
  usage: 'create [OPTIONS] --external-rootfs=PATH|IMAGE [COMMAND] [ARG...]',
  describe: 'Create a new container',
  haltAtPositional: true,
  options: CREATE_OPTIONS,
  async run(args, ctx) {
    const id = await createWithPull(ctx, args, createRequestOf(args));
    ctx.out(id);
    return 0;
  },
};
export default create;
