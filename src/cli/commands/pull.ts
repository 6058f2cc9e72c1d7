import tty from 'node:tty';
import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { pullWithProgress } from '../pull.js';
import { writeOut } from '../stdio.js';

const pull: Command = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  describe: 'Pull an image or a repository from a registry',
  options: {
    platform: { type: 'string', describe: 'Set platform if server is multi-platform capable (os/arch[/variant])' },
  },
  async run(args, ctx) {
    const [image, ...extra] = positionals(args);
    if (!image || extra.length > 0) throw invalidArgs('"pull" requires exactly 1 argument');
    await pullWithProgress(ctx.client(), image, str(args.platform), writeOut, tty.isatty(1));
    return 0;
  },
};
export default pull;
