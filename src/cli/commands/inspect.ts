import { toEngineError } from '../../api/errors.js';
import { ConnectError } from '../../client/transport.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { compileTemplate } from '../format/template.js';

const inspect: Command = {
  usage: 'inspect [OPTIONS] CONTAINER|IMAGE [CONTAINER|IMAGE...]',
  describe: 'Return low-level information on a container or image',
  options: (y) =>
    y
      .option('format', { alias: 'f', type: 'string', describe: 'Format the output using the given go template' })
      .option('time', { alias: 't', type: 'number', default: 120, describe: 'Timeout in seconds to wait for the inspection' }),
  async run(args, ctx) {
    const format = str(args.format);
    const template = format ? compileTemplate(format) : undefined;
    const found: unknown[] = [];
    let code = 0;
    for (const ref of positionals(args)) {
      try {
        const { json } = await ctx.client().unary('ContainerService/Inspect', { id: ref });
        found.push(JSON.parse(json));
      } catch (e) {
        if (e instanceof ConnectError) throw e;
        const err = toEngineError(e);
        ctx.err(`Error response from daemon: ${err.message}`);
        code = err.exitCode;
      }
    }
    if (template) {
      for (const item of found) ctx.out(template(item));
    } else if (found.length > 0 || code === 0) {
      ctx.out(JSON.stringify(found, null, 4));
    }
    return code;
  },
};
export default inspect;
