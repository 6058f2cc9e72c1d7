import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { outputWriter, relay } from '../stream.js';
import { terminalSize } from '../terminal.js';

const attach: Command = {
  usage: 'attach [OPTIONS] CONTAINER',
  describe: 'Attach to a running container',
  async run(args, ctx) {
    const [id, ...extra] = positionals(args);
    if (!id || extra.length > 0) throw invalidArgs('"attach" requires exactly 1 argument: CONTAINER');
    const { json } = await ctx.client().unary('ContainerService/Inspect', { id });
    const tty = (JSON.parse(json) as { Config: { Tty: boolean } }).Config.Tty;
    const out = outputWriter();
    const { done, handle } = ctx.client().stream('ContainerService/Attach', { id, stdin: true }, out.write, true);
    const send = (m: { input?: Uint8Array; eof?: boolean; resize?: { rows: number; cols: number } }): void => handle.send({ id, ...m });
    // The container's terminal takes our size now, and follows it (as run -t does from its start).
    const size = tty ? terminalSize() : undefined;
    if (size) send({ resize: size });
    await relay(done, send, true, tty);
    return out.exitCode() ?? 0;
  },
};
export default attach;
