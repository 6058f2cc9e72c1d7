import { readBoundedRegularFile } from './bounded-read.js';

/** One interface's counters from /proc/<pid>/net/dev: the network namespace of that process. */
export interface NetDevCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/** A line is about 130 bytes: room for some 2000 interfaces, more than a pod's namespace holds. */
const NET_DEV_LIMIT = 256 * 1024;

/** The interfaces of /proc/net/dev text; lines that are not 16 counters after `name:` are skipped. */
export function parseNetDev(text: string): NetDevCounters[] {
  const out: NetDevCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (name === '' || name.includes('|') || f.length !== 16 || !f.every((v) => /^\d+$/.test(v))) continue;
    const n = f.map(BigInt);
    // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
    out.push({
      name,
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
    });
  }
  return out;
}

/** The interfaces of the network namespace `pid` is in; undefined when the process is gone. */
export async function readNetDev(pid: number): Promise<NetDevCounters[] | undefined> {
  try {
    return parseNetDev((await readBoundedRegularFile(`/proc/${pid}/net/dev`, NET_DEV_LIMIT)).toString('utf8'));
  } catch {
    return undefined;
  }
}
