import fs from 'node:fs';
import { invalidArgs } from '../../api/errors.js';
import type { Command } from '../command.js';
import { positionals, str } from '../command.js';

/** Docker's and iSulad's limit for a password read from stdin is far above any real one. */
const MAX_PASSWORD_BYTES = 64 * 1024;

function readStdin(): string {
  const buf = Buffer.alloc(MAX_PASSWORD_BYTES + 1);
  let n = 0;
  for (;;) {
    let got: number;
    try {
      got = fs.readSync(0, buf, n, buf.length - n, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (got === 0) break;
    n += got;
    if (n > MAX_PASSWORD_BYTES) throw invalidArgs(`password on stdin is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  return buf
    .subarray(0, n)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const login: Command = {
  usage: 'login [OPTIONS] SERVER',
  describe: 'Log in to a Docker registry',
  options: {
    username: { alias: 'u', type: 'string', describe: 'Username' },
    password: { alias: 'p', type: 'string', describe: 'Password' },
    'password-stdin': { type: 'boolean', describe: 'Take the password from stdin' },
  },
  async run(args, ctx) {
    const [server, ...extra] = positionals(args);
    if (!server || extra.length > 0) throw invalidArgs('"login" requires exactly 1 argument: the registry server');
    const username = str(args.username);
    let password = str(args.password);
    if (args['password-stdin'] === true) {
      if (password !== undefined) throw invalidArgs('--password and --password-stdin are mutually exclusive');
      if (!username) throw invalidArgs('Must provide --username with --password-stdin');
      password = readStdin();
    }
    if (!username) throw invalidArgs('Must provide --username');
    if (!password) throw invalidArgs('Must provide --password or --password-stdin');
    if (args.password !== undefined) ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
    await ctx.client().unary('ImageService/Login', { server, username, password });
    ctx.out('Login Succeeded');
    return 0;
  },
};
export default login;
