import { formatBytes } from '../../common/units.js';
import type { Command } from '../command.js';
import { strList } from '../command.js';
import { filtersOf } from '../format/filters.js';
import { renderTable } from '../format/table.js';

const images: Command = {
  usage: 'images [OPTIONS]',
  describe: 'List images',
  options: {
    quiet: { alias: 'q', type: 'boolean', describe: 'Only show image IDs' },
    filter: { alias: 'f', type: 'string', list: true, describe: 'Filter output based on conditions provided (dangling=true|false, reference=PATTERN)' },
    digests: { type: 'boolean', describe: 'Show digests' },
    'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
  },
  subcommands: { prune: async () => (await import('./images-prune.js')).default },
  async run(args, ctx) {
    const { images: list } = await ctx.client().unary('ImageService/List', { filters: filtersOf(strList(args.filter)) });
    const full = args['no-trunc'] === true;
    const id = (hex: string): string => (full ? `sha256:${hex}` : hex.slice(0, 12));
    if (args.quiet === true) {
      // One line per image, however many names it has.
      const ids = [...new Set(list.map((i) => id(i.id)))];
      if (ids.length) ctx.out(ids.join('\n'));
      return 0;
    }
    const digests = args.digests === true;
    const rows = list.map((i) => {
      const colon = i.name.lastIndexOf(':');
      const created = new Date(i.created);
      const createdText = Number.isNaN(created.getTime())
        ? i.created
        : created
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, '');
      const repo = [i.name.slice(0, colon), i.name.slice(colon + 1)];
      return [...repo, ...(digests ? [i.type === 'oci' ? i.digest : '<none>'] : []), id(i.id), createdText, formatBytes(i.size)];
    });
    ctx.out(renderTable(['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    return 0;
  },
};
export default images;
