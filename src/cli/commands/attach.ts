import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { forwardStdin, outputWriter } from '../stream.js';

const attach: Command = {
  usage: 'attach [OPTIONS] CONTAINER',
  describe: 'Attach to a running container',
  async run(args, ctx) {
    const [id, ...extra] = positionals(args);
    if (!id || extra.length > 0) throw invalidArgs('"attach" requires exactly 1 argument: CONTAINER');
    const out = outputWriter();
    const { done, handle } = ctx.client().stream('ContainerService/Attach', { id, stdin: true }, out.write, true);
    const stopStdin = forwardStdin((m) => handle.send({ id, ...m }));
    try {
      await done;
    } finally {
      stopStdin();
    }
    return out.exitCode() ?? 0;
  },
};
export default attach;
