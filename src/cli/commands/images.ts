import { formatBytes } from '../../common/units.js';
import type { Command } from '../command.js';
import { strList } from '../command.js';
import { renderTable } from '../format/table.js';

const images: Command = {
  usage: 'images [OPTIONS]',
  describe: 'List images',
  options: {
    quiet: { alias: 'q', type: 'boolean', describe: 'Only show image IDs' },
    filter: { alias: 'f', type: 'string', list: true, describe: 'Filter output based on conditions provided (reference=NAME[:TAG])' },
  },
  async run(args, ctx) {
    const filters: Record<string, string[]> = {};
    for (const f of strList(args.filter)) {
      const eq = f.indexOf('=');
      (filters[eq < 0 ? f : f.slice(0, eq)] ??= []).push(eq < 0 ? '' : f.slice(eq + 1));
    }
    const { images: list } = await ctx.client().unary('ImageService/List', { filters });
    if (args.quiet === true) {
      if (list.length) ctx.out(list.map((i) => i.id.slice(0, 12)).join('\n'));
      return 0;
    }
    const rows = list.map((i) => {
      const colon = i.name.lastIndexOf(':');
      const created = new Date(i.created);
      const createdText = Number.isNaN(created.getTime())
        ? i.created
        : created
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, '');
      return [i.name.slice(0, colon), i.name.slice(colon + 1), i.id.slice(0, 12), createdText, formatBytes(i.size)];
    });
    ctx.out(renderTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    return 0;
  },
};
export default images;
