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
  attach: { describe: 'Attach to a running container', load: async () => (await import('./attach.js')).default },
  create: { describe: 'Create a new container', load: async () => (await import('./create.js')).default },
  events: { describe: 'Get real time events from the server', load: async () => (await import('./events.js')).default },
  exec: { describe: 'Run a command in a running container', load: async () => (await import('./exec.js')).default },
  export: { describe: "Export a container's filesystem as a tar archive", load: async () => (await import('./export.js')).default },
  images: { describe: 'List images', load: async () => (await import('./images.js')).default },
  import: { describe: 'Import the contents from a tarball to create a filesystem image', load: async () => (await import('./import.js')).default },
  info: { describe: 'Display system-wide information', load: async () => (await import('./info.js')).default },
  history: { describe: 'Show the history of an image', load: async () => (await import('./history.js')).default },
  inspect: { describe: 'Return low-level information on a container or image', load: async () => (await import('./inspect.js')).default },
  kill: { describe: 'Kill one or more running containers', load: async () => (await import('./kill.js')).default },
  load: { describe: 'Load an image from a manifest or tar archive file', load: async () => (await import('./load.js')).default },
  login: { describe: 'Log in to a Docker registry', load: async () => (await import('./login.js')).default },
  logout: { describe: 'Log out from a Docker registry', load: async () => (await import('./logout.js')).default },
  logs: { describe: 'Fetch the logs of a container', load: async () => (await import('./logs.js')).default },
  pause: { describe: 'Pause all processes within one or more containers', load: async () => (await import('./pause.js')).default },
  ps: { describe: 'List containers', load: async () => (await import('./ps.js')).default },
  pull: { describe: 'Pull an image or a repository from a registry', load: async () => (await import('./pull.js')).default },
  push: { describe: 'Push an image to a registry', load: async () => (await import('./push.js')).default },
  rename: { describe: 'Rename a container', load: async () => (await import('./rename.js')).default },
  restart: { describe: 'Restart one or more containers', load: async () => (await import('./restart.js')).default },
  rm: { describe: 'Remove one or more containers', load: async () => (await import('./rm.js')).default },
  rmi: { describe: 'Remove one or more images', load: async () => (await import('./rmi.js')).default },
  run: { describe: 'Run a command in a new container', load: async () => (await import('./run.js')).default },
  save: { describe: 'Save one or more images to a tar archive', load: async () => (await import('./save.js')).default },
  start: { describe: 'Start one or more stopped containers', load: async () => (await import('./start.js')).default },
  stop: { describe: 'Stop one or more containers', load: async () => (await import('./stop.js')).default },
  tag: { describe: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', load: async () => (await import('./tag.js')).default },
  top: { describe: 'Display the running processes of a container', load: async () => (await import('./top.js')).default },
  unpause: { describe: 'Unpause all processes within one or more containers', load: async () => (await import('./unpause.js')).default },
  update: { describe: 'Update configuration of one or more containers', load: async () => (await import('./update.js')).default },
  version: { describe: 'Display information about isula', load: async () => (await import('./version.js')).default },
  wait: { describe: 'Block until one or more containers stop, then print their exit codes', load: async () => (await import('./wait.js')).default },
};
