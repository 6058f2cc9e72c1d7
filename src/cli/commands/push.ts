import tty from 'node:tty';
import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { ProgressPrinter } from '../format/progress.js';
import { writeOut } from '../stdio.js';

const push: Command = {
  usage: 'push NAME[:TAG]',
  describe: 'Push an image to a registry',
  async run(args, ctx) {
    const [image, ...extra] = positionals(args);
    if (!image || extra.length > 0) throw invalidArgs('"push" requires exactly 1 argument');
    const printer = new ProgressPrinter(writeOut, tty.isatty(1));
    let digest: string | undefined;
    const { done, handle } = ctx.client().stream('ImageService/Push', { image }, (p) => {
      if (p.digest !== undefined) digest = p.digest;
      else printer.update(p);
    });
    const cancel = (): void => handle.cancel();
    process.once('SIGINT', cancel);
    try {
      await done;
    } finally {
      process.off('SIGINT', cancel);
    }
    if (!digest) return 1;
    const tag = /:([^/:@]+)$/.exec(image)?.[1] ?? 'latest';
    ctx.out(`${tag}: digest: ${digest}`);
    return 0;
  },
};
export default push;
