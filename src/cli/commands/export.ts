import { invalidArgs } from '../../api/errors.js';
import { receiveArchive } from '../archive-output.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';

const exportCommand: Command = {
  usage: 'export [OPTIONS] CONTAINER',
  describe: "Export a container's filesystem as a tar archive",
  options: {
    output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' },
  },
  async run(args, ctx) {
    const [id, ...extra] = positionals(args);
    if (!id || extra.length > 0) throw invalidArgs('"export" requires exactly 1 argument: CONTAINER');
    return receiveArchive(ctx, 'ContainerService/Export', { id }, str(args.output));
  },
};
export default exportCommand;
