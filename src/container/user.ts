import { generalError } from '../api/errors.js';
import { readFileInRoot } from '../sys/in-root.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

/** iSulad's REGULAR_FILE_SIZE: far beyond any real passwd or group file; a rootfs cannot make the daemon read more. */
export const MAX_USER_DB_BYTES = 10 * 1024 * 1024;

/**
 * etc/passwd or etc/group of the rootfs, resolved inside it (a symlinked etc cannot point
 * the daemon at a host file) and read only if it is a regular file within the limit.
 * Anything else counts as absent, as an unreadable file did before: every verb derives the
 * container's spec, so a rootfs changed since the create must not make it unremovable.
 */
function readDb(root: string, file: string): string[][] {
  let text: string | undefined;
  try {
    text = readFileInRoot(root, `/etc/${file}`, MAX_USER_DB_BYTES);
  } catch {
    // a symlink loop, a FIFO or device, too big, unreadable
  }
  return (text ?? '')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Whether `spec` names a user or a group: only the rootfs's files resolve a name (or refuse it); ids always resolve. */
export function namesUserOrGroup(spec: string): boolean {
  return spec.split(':', 2).some((part) => !/^\d*$/.test(part));
}

/** Resolves `-u name|uid[:group|gid]` against the rootfs's etc/passwd and etc/group, as Docker does. */
export function resolveUser(spec: string, userDbRoot: string): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  // Read only when the spec names something to look up: most containers run as root.
  let passwdDb: string[][] | undefined;
  let groupDb: string[][] | undefined;
  const passwd = (): string[][] => (passwdDb ??= readDb(userDbRoot, 'passwd'));
  const groups = (): string[][] => (groupDb ??= readDb(userDbRoot, 'group'));
  let uid: number;
  let gid: number;
  let home = '/';
  let userName: string | undefined;
  if (userPart === '') {
    uid = 0;
    gid = 0;
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd().find((p) => Number(p[2]) === uid);
    gid = entry ? Number(entry[3]) : uid === 0 ? 0 : uid;
    home = entry?.[5] || '/';
    userName = entry?.[0];
  } else {
    const entry = passwd().find((p) => p[0] === userPart);
    if (!entry) throw generalError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
    home = entry[5] || '/';
    userName = userPart;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = groups().find((g) => g[0] === groupPart);
      if (!entry) throw generalError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  const supplementary = userName
    ? groups()
        .filter((g) => (g[3] ?? '').split(',').includes(userName) && Number(g[2]) !== gid)
        .map((g) => Number(g[2]))
    : [];
  return { uid, gid, groups: supplementary, home };
}
