import type { ContainerSummary } from '../../api/containers.js';
import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { str, strList } from '../command.js';
import { renderTable } from '../format/table.js';
import { ago, humanDuration } from '../format/time.js';

function statusText(c: ContainerSummary, now: number): string {
  switch (c.state) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(c.startedAt))}${c.health ? ` (${c.health})` : ''}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(c.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode}) ${ago(c.finishedAt || c.created, now)}`;
    case 'inited':
      return 'Created';
    default:
      return c.finishedAt ? `Exited (${c.exitCode}) ${ago(c.finishedAt, now)}` : `Exited (${c.exitCode})`;
  }
}

function truncateCommand(cmd: string, noTrunc: boolean): string {
  const quoted = noTrunc || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`;
  return `"${quoted}"`;
}

/** The fields `--format` templates see, named as Docker's ps names them. */
function formatRow(c: ContainerSummary, noTrunc: boolean, now: number): Record<string, unknown> {
  return {
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.image,
    Command: truncateCommand(c.command, noTrunc),
    CreatedAt: c.created,
    RunningFor: ago(c.created, now),
    Status: c.inGc ? `${statusText(c, now)} (in GC)` : statusText(c, now),
    State: c.state,
    Names: c.name,
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Runtime: c.runtime,
    Pid: c.pid,
    ExitCode: c.exitCode,
    Ports: '',
  };
}

const HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  State: 'STATE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Ports: 'PORTS',
};

function parseFilters(list: string[]): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const f of list) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw invalidArgs(`Bad format of filter (expected name=value): ${f}`);
    (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
  }
  return filters;
}

const ps: Command = {
  usage: 'ps [OPTIONS]',
  describe: 'List containers',
  options: {
    all: { alias: 'a', type: 'boolean', describe: 'Show all containers (default shows just running)' },
    quiet: { alias: 'q', type: 'boolean', describe: 'Only display numeric IDs' },
    last: { alias: 'n', type: 'number', describe: 'Show n last created containers (includes all states)' },
    latest: { alias: 'l', type: 'boolean', describe: 'Show the latest created container (includes all states)' },
    'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
    filter: { alias: 'f', type: 'string', list: true, describe: 'Filter output based on conditions provided' },
    format: { type: 'string', describe: 'Format the output using the given go template' },
  },
  async run(args, ctx) {
    const noTrunc = args['no-trunc'] === true;
    const format = str(args.format);
    const table = format !== undefined && /^table\b/.test(format);
    const body = format?.replace(/^table\s*/, '') ?? '';
    const template = body ? (await import('../format/template/index.js')).compileTemplate(body) : undefined;
    const last = args.latest === true ? 1 : (args.last as number | undefined);
    if (last !== undefined && !Number.isInteger(last)) throw invalidArgs('invalid value for --last: want an integer');
    const { containers } = await ctx.client().unary('ContainerService/List', {
      all: args.all === true,
      filters: parseFilters(strList(args.filter)),
      ...(last !== undefined ? { last } : {}),
    });
    const now = Date.now();
    if (args.quiet === true) {
      if (containers.length) ctx.out(containers.map((c) => (noTrunc ? c.id : c.id.slice(0, 12))).join('\n'));
      return 0;
    }
    const rows = containers.map((c) => formatRow(c, noTrunc, now));
    if (template && table) {
      // `table` formats get a header and aligned columns; \t separates them, as in Docker.
      const header = body.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, field: string) => HEADERS[field] ?? field.toUpperCase());
      const split = (line: string): string[] => line.replace(/\\t/g, '\t').split('\t');
      ctx.out(
        renderTable(
          split(header),
          rows.map((r) => split(template(r))),
        ),
      );
      return 0;
    }
    if (template) {
      if (rows.length) ctx.out(rows.map((r) => template(r)).join('\n'));
      return 0;
    }
    ctx.out(
      renderTable(
        ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
        rows.map((r) => [String(r.ID), String(r.Image), String(r.Command), String(r.RunningFor), String(r.Status), '', String(r.Names)]),
      ),
    );
    return 0;
  },
};
export default ps;
