import { invalidArgs } from '../../api/errors.js';
import { parseBytes } from '../../common/units.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';
import { parseRestartPolicy } from './create-flags.js';
import { eachContainer } from './each.js';

const update: Command = {
  usage: 'update [OPTIONS] CONTAINER [CONTAINER...]',
  describe: 'Update configuration of one or more containers',
  options: {
      'memory': { alias: 'm', type: 'string', describe: 'Memory limit' },
      'memory-swap': { type: 'string', describe: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
      'cpu-shares': { type: 'number', describe: 'CPU shares (relative weight)' },
      'cpus': { type: 'string', describe: 'Number of CPUs' },
      'cpu-period': { type: 'number', describe: 'Limit CPU CFS period' },
      'cpu-quota': { type: 'number', describe: 'Limit CPU CFS quota' },
      'cpuset-cpus': { type: 'string', describe: 'CPUs in which to allow execution (0-3, 0,1)' },
      'cpuset-mems': { type: 'string', describe: 'MEMs in which to allow execution (0-3, 0,1)' },
      'pids-limit': { type: 'number', describe: 'Tune container pids limit (set -1 for unlimited)' },
      'restart': { type: 'string', describe: 'Restart policy to apply when a container exits' },
  },
  async run(args, ctx) {
    const bytes = (flag: string): number | undefined => {
      const text = str(args[flag]);
      if (text === undefined) return undefined;
      if (text === '-1') return -1;
      const n = parseBytes(text);
      if (n === undefined) throw invalidArgs(`invalid value "${text}" for flag --${flag}`);
      return n;
    };
    const cpus = str(args.cpus);
    const resources = Object.fromEntries(
      Object.entries({
        memory: bytes('memory'),
        memorySwap: bytes('memory-swap'),
        cpuShares: args['cpu-shares'] as number | undefined,
        nanoCpus: cpus === undefined ? undefined : Math.round(Number(cpus) * 1e9),
        cpuPeriod: args['cpu-period'] as number | undefined,
        cpuQuota: args['cpu-quota'] as number | undefined,
        cpusetCpus: str(args['cpuset-cpus']),
        cpusetMems: str(args['cpuset-mems']),
        pidsLimit: args['pids-limit'] as number | undefined,
      }).filter(([, v]) => v !== undefined),
    );
    for (const [k, v] of Object.entries(resources)) if (typeof v === 'number' && Number.isNaN(v)) throw invalidArgs(`invalid value for ${k}`);
    const restartPolicy = args.restart === undefined ? undefined : parseRestartPolicy(str(args.restart)!);
    if (Object.keys(resources).length === 0 && !restartPolicy) throw invalidArgs('You must provide one or more flags when using this command');
    return eachContainer(ctx, positionals(args), 'update', (id) => ctx.client().unary('ContainerService/Update', { id, resources, ...(restartPolicy ? { restartPolicy } : {}) }));
  },
};
export default update;
