import { invalidArgs } from '../../api/errors.js';
import { formatBytes } from '../../common/units.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';
import { renderTable } from '../format/table.js';

/** Docker's "2 weeks ago". */
export function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'N/A';
  const s = Math.max(0, Math.round((now - t) / 1000));
  const units: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  if (s < 1) return 'Less than a second ago';
  for (const [n, unit] of units) {
    const v = Math.floor(s / n);
    if (v >= 1) return v === 1 ? `${unit === 'hour' ? 'About an' : unit === 'minute' ? 'About a' : '1'} ${unit} ago` : `${v} ${unit}s ago`;
  }
  return s === 1 ? '1 second ago' : `${s} seconds ago`;
}

const history: Command = {
  usage: 'history [OPTIONS] IMAGE',
  describe: 'Show the history of an image',
  options: {
    'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
    quiet: { alias: 'q', type: 'boolean', describe: 'Only show image IDs' },
  },
  async run(args, ctx) {
    const [name, ...extra] = positionals(args);
    if (!name || extra.length > 0) throw invalidArgs('"history" requires exactly 1 argument');
    const { entries } = await ctx.client().unary('ImageService/History', { name });
    const full = args['no-trunc'] === true;
    const id = (text: string): string => (text === '<missing>' || full ? text : text.replace(/^sha256:/, '').slice(0, 12));
    if (args.quiet === true) {
      ctx.out(entries.map((e) => id(e.id)).join('\n'));
      return 0;
    }
    const rows = entries.map((e) => {
      const by = e.createdBy.replace(/\s+/g, ' ');
      return [id(e.id), ago(e.created), full || by.length <= 45 ? by : `${by.slice(0, 44)}…`, formatBytes(e.size), e.comment];
    });
    ctx.out(renderTable(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
    return 0;
  },
};
export default history;
