import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals } from '../command.js';

const logout: Command = {
  usage: 'logout SERVER',
  describe: 'Log out from a Docker registry',
  async run(args, ctx) {
    const [server, ...extra] = positionals(args);
    if (!server || extra.length > 0) throw invalidArgs('"logout" requires exactly 1 argument: the registry server');
    await ctx.client().unary('ImageService/Logout', { server });
    ctx.out(`Removing login credentials for ${server}`);
    return 0;
  },
};
export default logout;
