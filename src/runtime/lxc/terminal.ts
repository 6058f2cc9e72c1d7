import fs from 'node:fs';
import path from 'node:path';
import { resolveInRoot } from '../../sys/in-root.js';

/**
 * A controlling terminal for a container run with -t. LXC gives the init its console (a pty
 * of the container's devpts, also /dev/console) as stdin, stdout and stderr, and makes it a
 * session leader, but never makes the console the session's controlling terminal: no job
 * control, and Ctrl-C reaches no one. Only the session leader itself can acquire one, and
 * the kernel gives it the terminal it opens while it has none. So the init starts as the
 * container's own /bin/sh, which opens the console once and then execs the command: the
 * command stays pid 1 and keeps the terminal. A rootfs without /bin/sh runs as before.
 */
const TAKE_TERMINAL = 'true 2>/dev/null <>/dev/console; exec "$@"';

/**
 * Whether `file` (an absolute path in the container) is an executable regular file in the
 * rootfs at `root`, resolved as the container sees it (nothing outside `root` is looked at).
 */
export function executableInRoot(root: string, file: string): boolean {
  try {
    const st = fs.lstatSync(path.join(root, resolveInRoot(root, file)));
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The init's argv for a container with a terminal: the command, taking the terminal first when it can. */
export function withControllingTerminal(rootfsDir: string, args: readonly string[]): string[] {
  if (args.length === 0 || !executableInRoot(rootfsDir, '/bin/sh')) return [...args];
  // $0 names the shell in its own messages (a command not found: 127, not executable: 126).
  return ['/bin/sh', '-c', TAKE_TERMINAL, 'sh', ...args];
}
