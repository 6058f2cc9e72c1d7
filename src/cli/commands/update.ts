import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { CREATE_OPTIONS, parseRestartPolicy, RESOURCE_FLAGS, resourcesOf } from './create-flags.js';
import { eachContainer } from './each.js';

const update: Command = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Update configuration of one or more containers',
  options: {
    ...Object.fromEntries(RESOURCE_FLAGS.map((f) => [f, CREATE_OPTIONS[f]!])),
    restart: { type: 'string', describe: 'Restart policy to apply when a container exits' },
  },
  async run(args, ctx) {
    const resources = resourcesOf(args);
    const restartPolicy = args.restart === undefined ? undefined : parseRestartPolicy(str(args.restart)!);
    if (Object.keys(resources).length === 0 && !restartPolicy) throw invalidArgs('You must provide one or more flags when using this command');
    return eachContainer(ctx, positionals(args), 'update', (id) =>
      ctx.client().unary('ContainerService/Update', { id, resources, ...(restartPolicy ? { restartPolicy } : {}) }),
    );
  },
};
export default update;
