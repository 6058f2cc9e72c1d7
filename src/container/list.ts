import type { ContainerSummary, ListRequest } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import type { Container } from './container.js';
import type { ContainerStore } from './store.js';
import { summaryOf } from './view.js';

const FILTER_KEYS = new Set(['id', 'name', 'status', 'label']);
const STATUS_ALIASES: Record<string, string> = { created: 'inited' };
const STATUSES = new Set(['inited', 'created', 'running', 'paused', 'restarting', 'exited', 'removing', 'dead']);

function matches(c: Container, key: string, value: string): boolean {
  switch (key) {
    case 'id':
      return c.id.startsWith(value);
    case 'name':
      return c.name.includes(value);
    case 'status':
      return c.status === (STATUS_ALIASES[value] ?? value);
    case 'label': {
      const eq = value.indexOf('=');
      const labels = c.record.config.Config.Labels;
      return eq < 0 ? value in labels : labels[value.slice(0, eq)] === value.slice(eq + 1);
    }
    default:
      return false;
  }
}

/** `isula ps`: newest first; filters of one key are ORed, different keys ANDed, as Docker. */
export function listContainers(store: ContainerStore, req: ListRequest, inGc: (id: string) => boolean = () => false): ContainerSummary[] {
  for (const key of Object.keys(req.filters)) if (!FILTER_KEYS.has(key)) throw invalidArgs(`Invalid filter '${key}'`);
  for (const s of req.filters.status ?? []) {
    if (!STATUSES.has(s)) throw invalidArgs(`Invalid filter 'status=${s}': want one of created, restarting, running, paused, exited`);
  }
  // As Docker: only running containers unless -a, -n, or a status filter asks for others.
  const everyState = req.all || req.last !== undefined || req.filters.status !== undefined;
  let list = store
    .all()
    .filter((c) => everyState || c.state.Running)
    .filter((c) => Object.entries(req.filters).every(([k, values]) => values.some((v) => matches(c, k, v))))
    .sort((a, b) => b.record.config.Created.localeCompare(a.record.config.Created));
  if (req.last !== undefined && req.last >= 0) list = list.slice(0, req.last);
  return list.map((c) => summaryOf(c, inGc(c.id)));
}
