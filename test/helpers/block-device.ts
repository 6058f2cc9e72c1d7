import fs from 'node:fs';

/** A block device that exists here (e.g. /dev/vda, /dev/loop0), for layer-0 rootfs cases. */
export function findBlockDevice(): string | undefined {
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/block');
  } catch {
    return undefined;
  }
  for (const name of names) {
    try {
      if (fs.statSync(`/dev/${name}`).isBlockDevice()) return `/dev/${name}`;
    } catch {
      // listed in sysfs but no node in this /dev
    }
  }
  return undefined;
}
