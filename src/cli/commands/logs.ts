import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { writeErr, writeOut } from '../stdio.js';

const logs: Command = {
  usage: 'logs [OPTIONS] CONTAINER',
  describe: 'Fetch the logs of a container',
  options: {
    follow: { alias: 'f', type: 'boolean', describe: 'Follow log output' },
    tail: { type: 'string', default: 'all', describe: 'Number of lines to show from the end of the logs' },
    timestamps: { alias: 't', type: 'boolean', describe: 'Show timestamps' },
  },
  async run(args, ctx) {
    const [id, ...extra] = positionals(args);
    if (!id || extra.length > 0) throw invalidArgs('"logs" requires exactly 1 argument: CONTAINER');
    const tailText = str(args.tail) ?? 'all';
    const tail = tailText === 'all' ? -1 : Number(tailText);
    if (!Number.isInteger(tail) || tail < -1) throw invalidArgs(`invalid value "${tailText}" for --tail: want a number or all`);
    const timestamps = args.timestamps === true;
    const atLineStart = { 1: true, 2: true };
    const { done, handle } = ctx.client().stream('ContainerService/Logs', { id, follow: args.follow === true, tail, timestamps }, (chunk) => {
      if (!chunk.data) return;
      const n = chunk.stream === 2 ? 2 : 1;
      let text = Buffer.from(chunk.data).toString('utf8');
      if (timestamps && chunk.time) {
        // Prefix every line that starts in this chunk.
        text = text.replace(/(^|\n)(?=.)/g, (m, nl: string, offset: number) => (offset === 0 && !atLineStart[n] ? m : `${nl}${chunk.time} `));
      }
      atLineStart[n] = text.endsWith('\n');
      (n === 2 ? writeErr : writeOut)(text);
    });
    process.once('SIGINT', () => handle.cancel());
    await done;
    return 0;
  },
};
export default logs;
