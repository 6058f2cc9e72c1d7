import fs from 'node:fs';
import path from 'node:path';
import { generalError } from '../api/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

function readDb(root: string, file: string): string[][] {
  try {
    return fs
      .readFileSync(path.join(root, 'etc', file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** Resolves `-u name|uid[:group|gid]` against the rootfs's etc/passwd and etc/group, as Docker does. */
export function resolveUser(spec: string, userDbRoot: string): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = readDb(userDbRoot, 'passwd');
  const groups = readDb(userDbRoot, 'group');
  let uid: number;
  let gid: number;
  let home = '/';
  let userName: string | undefined;
  if (userPart === '') {
    uid = 0;
    gid = 0;
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => Number(p[2]) === uid);
    gid = entry ? Number(entry[3]) : uid === 0 ? 0 : uid;
    home = entry?.[5] || '/';
    userName = entry?.[0];
  } else {
    const entry = passwd.find((p) => p[0] === userPart);
    if (!entry) throw generalError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
    home = entry[5] || '/';
    userName = userPart;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = groups.find((g) => g[0] === groupPart);
      if (!entry) throw generalError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  const supplementary = userName
    ? groups.filter((g) => (g[3] ?? '').split(',').includes(userName) && Number(g[2]) !== gid).map((g) => Number(g[2]))
    : [];
  return { uid, gid, groups: supplementary, home };
}
