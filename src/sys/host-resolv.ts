import fs from 'node:fs';
import { readBoundedRegularFile } from './bounded-read.js';

/** resolv.conf is a few lines; the bound keeps a huge or endless file out of the daemon's memory. */
const HOST_RESOLV_CONF_MAX = 64 * 1024;

const RESOLV_CONF = '/etc/resolv.conf';

/** The last content read, and the file's identity and times when it was read. */
let cached: { stamp: string; text: string } | undefined;

function stampOf(): string | undefined {
  try {
    const st = fs.statSync(RESOLV_CONF, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * The host's /etc/resolv.conf for a container or pod that uses the host's resolver; '' when it
 * cannot be read. Read again only when a stat says it changed (every create asks; the read is
 * six thread-pool round trips, the stat a few microseconds): the stamp is taken before the
 * read, so a change during it is read at the next call.
 */
export async function hostResolvConf(): Promise<string> {
  const stamp = stampOf();
  if (stamp !== undefined && cached?.stamp === stamp) return cached.text;
  let text: string;
  try {
    text = (await readBoundedRegularFile(RESOLV_CONF, HOST_RESOLV_CONF_MAX)).toString('utf8');
  } catch {
    return ''; // a host without one (or with an unreadable one) gives an empty file
  }
  if (stamp !== undefined) cached = { stamp, text };
  return text;
}
