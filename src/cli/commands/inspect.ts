import { EngineError, ExitCode, toEngineError } from '../../api/errors.js';
import { ConnectError } from '../../client/transport.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import type { CliContext } from '../context.js';

/** A container first, then an image of that name, as iSulad looks them up. */
async function inspectOne(ctx: CliContext, ref: string): Promise<string> {
  try {
    return (await ctx.client().unary('ContainerService/Inspect', { id: ref })).json;
  } catch (e) {
    if (e instanceof ConnectError || !/^No such container/.test(toEngineError(e).message)) throw e;
    try {
      return (await ctx.client().unary('ImageService/Inspect', { name: ref })).json;
    } catch (imageError) {
      if (/^No such image/.test(toEngineError(imageError).message)) throw new EngineError(ExitCode.general, `No such image or container: ${ref}`);
      throw imageError;
    }
  }
}

const inspect: Command = {
  usage: 'inspect [OPTIONS] CONTAINER|IMAGE [CONTAINER|IMAGE...]',
  describe: 'Return low-level information on a container or image',
  options: {
    format: { alias: 'f', type: 'string', describe: 'Format the output using the given go template' },
    time: { alias: 't', type: 'number', default: 120, describe: 'Timeout in seconds to wait for the inspection' },
  },
  async run(args, ctx) {
    const format = str(args.format);
    // A key the data lacks fails, as iSulad's and Docker's (missingkey=error over the JSON) inspect do.
    const template = format ? (await import('../format/template/index.js')).compileTemplate(format, { missingKeyIsError: true }) : undefined;
    const found: unknown[] = [];
    let code = 0;
    for (const ref of positionals(args)) {
      try {
        found.push(JSON.parse(await inspectOne(ctx, ref)));
      } catch (e) {
        if (e instanceof ConnectError) throw e;
        const err = toEngineError(e);
        ctx.err(`Error response from daemon: ${err.message}`);
        code = err.exitCode;
      }
    }
    if (template) {
      let text: string[];
      try {
        text = found.map((item) => template(item));
      } catch (e) {
        // Executing, unlike parsing, fails on the data: exit 1 with nothing printed, as Docker's.
        throw new EngineError(ExitCode.general, toEngineError(e).message);
      }
      for (const t of text) ctx.out(t);
    } else if (found.length > 0 || code === 0) {
      ctx.out(JSON.stringify(found, null, 4));
    }
    return code;
  },
};
export default inspect;
