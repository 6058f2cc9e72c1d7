import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { envList, withTerm } from './create-flags.js';
import { outputWriter, relay } from '../stream.js';
import { terminalSize } from '../terminal.js';

const exec: Command = {
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  describe: 'Run a command in a running container',
  haltAtPositional: true,
  options: {
    detach: { alias: 'd', type: 'boolean', describe: 'Run command in the background' },
    interactive: { alias: 'i', type: 'boolean', describe: 'Keep STDIN open even if not attached' },
    tty: { alias: 't', type: 'boolean', describe: 'Allocate a pseudo-TTY' },
    env: { alias: 'e', type: 'string', list: true, describe: 'Set environment variables' },
    user: { alias: 'u', type: 'string', describe: 'Username or UID (format: <name|uid>[:<group|gid>])' },
    workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
  },
  async run(args, ctx) {
    const [id, ...cmd] = positionals(args);
    if (!id || cmd.length === 0) throw invalidArgs('"exec" requires at least 2 arguments: CONTAINER COMMAND');
    const stdin = args.interactive === true;
    const detach = args.detach === true;
    const tty = args.tty === true;
    const size = tty ? terminalSize() : undefined;
    const out = outputWriter();
    const { done, handle } = ctx
      .client()
      .stream(
        'ContainerService/Exec',
        { id, cmd, env: withTerm(envList(args), tty), user: str(args.user), workdir: str(args.workdir), tty, stdin, detach, ...(size ? { resize: size } : {}) },
        out.write,
        true,
      );
    await relay(done, (m) => handle.send({ id, cmd: [], env: [], tty, stdin, detach, ...m }), stdin && !detach, tty && !detach);
    return detach ? 0 : (out.exitCode() ?? 125);
  },
};
export default exec;
