import { PassThrough, type Readable } from 'node:stream';

/**
 * LXC's log lines turned into the one-line messages a Docker or iSulad user knows. LXC logs
 * `lxc-start <name> <time> ERROR <module> - <file>:<func>:<line> - [<strerror> - ]<what>`;
 * lxc-attach prints `lxc-attach: <name>: <file>: <func>: <line> [<strerror> - ]<what>` on
 * its stderr. Neither shape, nor LXC's own rootfs mount point, is shown to a user.
 */

/** The start failures whose wording a client maps to exit codes 127 and 126 (as iSulad's and Docker's do). */
function execFailure(errno: string | undefined, command: string): string {
  if (errno === undefined) return `exec: "${command}": failed`;
  if (/^(No such file or directory|Not a directory)$/i.test(errno)) {
    return command.includes('/') ? `exec: "${command}": no such file or directory` : `exec: "${command}": executable file not found in $PATH`;
  }
  return `exec: "${command}": ${errno.toLowerCase()}`;
}

/** LXC mounts the rootfs at <libdir>/lxc/rootfs on the host; the user knows only paths inside it. */
const inContainer = (text: string): string => text.replace(/\/[^\s"]*\/lxc\/rootfs(?:\/|(?=["\s]|$))/g, '/');

/** One LXC error (without its log prefix) as a user-facing message. */
export function describeLxcError(text: string): string {
  const m = /^(?:(.+?) - )?(.*)$/.exec(inContainer(text.trim()))!;
  const errno = m[1];
  const what = m[2]!;
  let q: RegExpExecArray | null;
  if ((q = /^Failed to exec "(.*)"$/.exec(what))) return execFailure(errno, q[1]!);
  if ((q = /^Could not change directory to "(.*)"$/.exec(what))) return `chdir to working directory "${q[1]}" failed${errno ? `: ${errno.toLowerCase()}` : ''}`;
  if ((q = /^Failed to mount "(.*)" on(?:to)? "(.*)"$/.exec(what)))
    return `error mounting "${q[1]}" to rootfs at "${q[2]}"${errno ? `: ${errno.toLowerCase()}` : ''}`;
  if ((q = /^Failed to create directory "(.*)"$/.exec(what))) return `error creating mount point "${q[1]}" in rootfs${errno ? `: ${errno.toLowerCase()}` : ''}`;
  const first = what.charAt(0).toLowerCase() + what.slice(1);
  return errno ? `${first}: ${errno.toLowerCase()}` : first;
}

/** The cause of a failed start or attach in an LXC log: its first ERROR line; later ones only report its fallout. */
export function firstLxcFailure(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!/ ERROR /.test(line) || /Unsupported config key/.test(line)) continue;
    return describeLxcError(line.replace(/^.*? ERROR\s+\S+ - /, '').replace(/^\S+:\d+ - /, ''));
  }
  return undefined;
}

const ATTACH_PREFIX = 'lxc-attach: ';

/** lxc-attach's error lines: `lxc-attach: <name>: <file>: <func>: <line> <text>`. */
const isLxcAttachLine = (line: Buffer): boolean => /^lxc-attach: [^:\n]+: [^:\n]+: [^:\n]+: \d+ /.test(line.toString('latin1'));

/** How much of a stream's start is held back to look for lxc-attach's lines. */
const ATTACH_LINES_LIMIT = 64 * 1024;

/**
 * lxc-attach prints its own failure ("Failed to exec ...") on the stream that would carry the
 * command's stderr, ahead of anything the command writes; the user gets it once, reworded
 * (firstLxcFailure of its log). Leading lines of that shape are dropped; from the first other
 * byte on, the stream passes unchanged.
 */
export function withoutAttachErrors(source: Readable): Readable {
  const out = new PassThrough();
  let held: Buffer | undefined = Buffer.alloc(0);
  source.on('data', (chunk: Buffer) => {
    if (held === undefined) return void out.write(chunk);
    held = Buffer.concat([held, chunk]);
    for (let nl = held.indexOf(10); nl >= 0 && isLxcAttachLine(held.subarray(0, nl)); nl = held.indexOf(10)) held = held.subarray(nl + 1);
    // Still possibly one of its lines: wait for the end of the line (up to the limit).
    const undecided =
      held.indexOf(10) < 0 && held.length < ATTACH_LINES_LIMIT && ATTACH_PREFIX.startsWith(held.subarray(0, ATTACH_PREFIX.length).toString('latin1'));
    if (undecided) return;
    out.write(held);
    held = undefined;
  });
  source.on('end', () => {
    if (held !== undefined && held.length > 0 && !isLxcAttachLine(held)) out.write(held);
    out.end();
  });
  source.on('error', (e) => out.destroy(e));
  return out;
}
