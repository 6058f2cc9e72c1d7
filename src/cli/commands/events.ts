import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { str } from '../command.js';
import { parseTimeArg } from '../format/time.js';

const events: Command = {
  usage: 'events [OPTIONS]',
  describe: 'Get real time events from the server',
  options: {
    name: { alias: 'n', type: 'string', describe: 'Only events of this container (name or id)' },
    since: { alias: 'S', type: 'string', describe: 'Show all events created since timestamp' },
    until: { alias: 'U', type: 'string', describe: 'Stream events until this timestamp' },
  },
  async run(args, ctx) {
    const time = (flag: 'since' | 'until'): string | undefined => {
      const text = str(args[flag]);
      if (text === undefined) return undefined;
      const t = parseTimeArg(text);
      if (t === undefined) throw invalidArgs(`invalid value "${text}" for --${flag}: want a timestamp or a duration such as 10m`);
      return t;
    };
    const { done, handle } = ctx.client().stream('SystemService/Events', { name: str(args.name), since: time('since'), until: time('until') }, (e) => {
      const attrs = Object.entries(e.attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      ctx.out(`${e.time} ${e.type} ${e.action} ${e.id}${attrs ? ` (${attrs})` : ''}`);
    });
    process.once('SIGINT', () => handle.cancel());
    await done.catch((e: Error) => {
      if (!/cancel/i.test(e.message)) throw e;
    });
    return 0;
  },
};
export default events;
