import type { Command } from '../command.js';
import { attachAndStart } from '../stream.js';
import { createWithPull } from '../create-pull.js';
import { CREATE_OPTIONS, createRequestOf } from './create-flags.js';

const run: Command = {
  usage: 'run [OPTIONS] ROOTFS|IMAGE [COMMAND] [ARG...]',
  describe: 'Run a command in a new container',
  haltAtPositional: true,
  options: {
    ...CREATE_OPTIONS,
    detach: { alias: 'd', type: 'boolean', describe: 'Run container in background and print container ID' },
    rm: { type: 'boolean', describe: 'Automatically remove the container when it exits' },
  },
  async run(args, ctx) {
    const detach = args.detach === true;
    const request = createRequestOf(args, args.rm === true);
    const client = ctx.client();
    const id = await createWithPull(ctx, args, request);
    if (detach) {
      await client.unary('ContainerService/Start', { id });
      ctx.out(id);
      return 0;
    }
    return attachAndStart(client, id, request.openStdin, request.tty);
  },
};
export default run;
