import { readBoundedRegularFile } from './bounded-read.js';

/** resolv.conf is a few lines; the bound keeps a huge or endless file out of the daemon's memory. */
const HOST_RESOLV_CONF_MAX = 64 * 1024;

/** The host's /etc/resolv.conf for a container or pod that uses the host's resolver; '' when it cannot be read. */
export async function hostResolvConf(): Promise<string> {
  try {
    return (await readBoundedRegularFile('/etc/resolv.conf', HOST_RESOLV_CONF_MAX)).toString('utf8');
  } catch {
    return ''; // a host without one (or with an unreadable one) gives an empty file
  }
}
