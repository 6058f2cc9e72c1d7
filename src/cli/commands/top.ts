import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { renderTable } from '../format/table.js';

const top: Command = {
  usage: 'top CONTAINER [ps OPTIONS]',
  describe: 'Display the running processes of a container',
  haltAtPositional: true,
  async run(args, ctx) {
    const [id, ...psArgs] = positionals(args);
    if (!id) throw invalidArgs('"top" requires at least 1 argument: CONTAINER');
    const r = await ctx.client().unary('ContainerService/Top', { id, psArgs });
    ctx.out(renderTable(r.titles, r.processes));
    return 0;
  },
};
export default top;
