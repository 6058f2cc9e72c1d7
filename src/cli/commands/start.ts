import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { forwardStdin, outputWriter } from '../stream.js';
import { eachContainer } from './each.js';

const start: Command = {
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Start one or more stopped containers',
  options: {
      'attach': { alias: 'a', type: 'boolean', describe: "Attach container's STDOUT and STDERR" },
      'interactive': { alias: 'i', type: 'boolean', describe: "Attach container's STDIN" },
  },
  async run(args, ctx) {
    const refs = positionals(args);
    if (args.attach === true && refs.length === 1) {
      const id = refs[0]!;
      const out = outputWriter();
      const withStdin = args.interactive === true;
      const { done, handle } = ctx.client().stream('ContainerService/Attach', { id, start: true, stdin: withStdin }, out.write, withStdin);
      const stopStdin = withStdin ? forwardStdin((m) => handle.send({ id, ...m })) : undefined;
      try {
        await done;
      } finally {
        stopStdin?.();
      }
      return out.exitCode() ?? 125;
    }
    return eachContainer(ctx, refs, 'start', (id) => ctx.client().unary('ContainerService/Start', { id }));
  },
};
export default start;
