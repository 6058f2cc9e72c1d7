import tty from 'node:tty';
import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { streamProgress } from '../pull.js';
import { writeOut } from '../stdio.js';

const push: Command = {
  usage: 'push NAME[:TAG]',
  describe: 'Push an image to a registry',
  async run(args, ctx) {
    const [image, ...extra] = positionals(args);
    if (!image || extra.length > 0) throw invalidArgs('"push" requires exactly 1 argument');
    const { digest } = await streamProgress(ctx.client(), 'ImageService/Push', { image }, writeOut, tty.isatty(1));
    if (!digest) return 1;
    const tag = /:([^/:@]+)$/.exec(image)?.[1] ?? 'latest';
    ctx.out(`${tag}: digest: ${digest}`);
    return 0;
  },
};
export default push;
