import type { Command } from '../command.js';

interface Entry {
  describe: string;
  load(): Promise<Command>;
}

/**
 * Every `isula` command. Modules load only when invoked, so a call pays for one command's
 * code and parser, never for the whole table.
 */
export const commands: Readonly<Record<string, Entry>> = {
  version: { describe: 'Display information about isula', load: async () => (await import('./version.js')).default },
  info: { describe: 'Display system-wide information', load: async () => (await import('./info.js')).default },
};
