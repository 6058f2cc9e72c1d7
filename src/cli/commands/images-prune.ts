import fs from 'node:fs';
import { formatBytes } from '../../common/units.js';
import type { Command } from '../command.js';
import { strList } from '../command.js';
import { filtersOf } from '../format/filters.js';

/** One answer line from stdin; a closed or empty stdin answers no. */
function readAnswer(): string {
  const buf = Buffer.alloc(256);
  let n = 0;
  try {
    while (n < buf.length) {
      const got = fs.readSync(0, buf, n, 1, null);
      if (got === 0 || buf[n] === 0x0a) break;
      n += got;
    }
  } catch {
    // no stdin
  }
  return buf.subarray(0, n).toString().trim();
}

const prune: Command = {
  usage: 'images prune [OPTIONS]',
  describe: 'Remove unused images',
  options: {
    all: { alias: 'a', type: 'boolean', describe: 'Remove all unused images, not just dangling ones' },
    force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
    filter: { type: 'string', list: true, describe: 'Provide filter values (dangling=true|false)' },
  },
  async run(args, ctx) {
    const all = args.all === true;
    if (args.force !== true) {
      ctx.out(
        all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.',
      );
      ctx.out('Are you sure you want to continue? [y/N] ');
      if (!/^y(es)?$/i.test(readAnswer())) return 0;
    }
    const r = await ctx.client().unary('ImageService/Prune', { all, filters: filtersOf(strList(args.filter)) });
    if (r.deleted.length > 0) {
      ctx.out('Deleted Images:');
      for (const id of r.deleted) ctx.out(`deleted: ${id}`);
      ctx.out('');
    }
    ctx.out(`Total reclaimed space: ${formatBytes(r.reclaimed)}`);
    return 0;
  },
};
export default prune;
