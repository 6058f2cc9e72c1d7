import { versionInfo } from '../../api/version.js';
import type { Command } from '../command.js';

function section(title: string, rows: [string, string][]): string {
  return `${title}:\n${rows.map(([k, v]) => `  ${`${k}:`.padEnd(16)}${v}`).join('\n')}\n`;
}

const version: Command = {
  usage: 'version',
  describe: 'Display information about isula',
  async run(_args, ctx) {
    const client = versionInfo();
    ctx.out(
      section('Client', [
        ['Version', client.version],
        ['API version', client.apiVersion],
        ['Git commit', client.gitCommit],
        ['Built', client.buildTime],
        ['Node version', client.nodeVersion],
        ['OS/Arch', `${client.os}/${client.arch}`],
      ]),
    );
    const server = await ctx.client().unary('SystemService/Version', {});
    ctx.out(
      section('Server', [
        ['Version', server.version],
        ['API version', server.apiVersion],
        ['Git commit', server.gitCommit],
        ['Built', server.buildTime],
        ['Node version', server.nodeVersion],
        ['OS/Arch', `${server.os}/${server.arch}`],
        ['Kernel', server.kernel],
        ['Root dir', server.rootDir],
      ]),
    );
    return 0;
  },
};
export default version;
