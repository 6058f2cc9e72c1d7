import fs from 'node:fs';

/** gid of a group in /etc/group, or undefined when there is no such group. */
export function groupId(name: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined) return Number(gid);
  }
  return undefined;
}
