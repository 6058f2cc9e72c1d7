import fsp from 'node:fs/promises';
import path from 'node:path';
import { invalidArgs } from '../api/errors.js';
import type { PodConfig } from './record.js';
import { hostResolvConf } from '../sys/host-resolv.js';

const noNewline = (s: string, what: string): string => {
  if (/[\r\n]/.test(s)) throw invalidArgs(`invalid ${what} "${s.split(/[\r\n]/)[0]}": must not contain a newline`);
  return s;
};

/** resolv.conf as containerd writes it from the pod's DNSConfig. */
export function resolvConfOf(dns: NonNullable<PodConfig['dns']>): string {
  const lines = [
    ...(dns.searches.length > 0 ? [`search ${dns.searches.map((s) => noNewline(s, 'DNS search')).join(' ')}`] : []),
    ...dns.servers.map((s) => `nameserver ${noNewline(s, 'DNS server')}`),
    ...(dns.options.length > 0 ? [`options ${dns.options.map((s) => noNewline(s, 'DNS option')).join(' ')}`] : []),
  ];
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The pod's hostname, hosts and resolv.conf, in its folder: every container of the pod binds them. */
export async function writePodEtc(dir: string, config: PodConfig, hostname: string): Promise<void> {
  const dns = config.dns;
  const hasDns = dns && dns.servers.length + dns.searches.length + dns.options.length > 0;
  // An empty DNSConfig gets the host's resolver (kubelet's ClusterFirst sends one).
  const resolv = hasDns ? resolvConfOf(dns) : await hostResolvConf();
  const hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
  await Promise.all([
    fsp.writeFile(path.join(dir, 'hostname'), `${hostname}\n`, { mode: 0o644 }),
    fsp.writeFile(path.join(dir, 'hosts'), hosts, { mode: 0o644 }),
    fsp.writeFile(path.join(dir, 'resolv.conf'), resolv, { mode: 0o644 }),
  ]);
}

/** Mounts of the pod's etc files into one of its containers (over the container's own). */
export function podEtcMounts(dir: string): { type: 'bind'; source: string; destination: string; readOnly: boolean }[] {
  return ['hostname', 'hosts', 'resolv.conf'].map((name) => ({
    type: 'bind' as const,
    source: path.join(dir, name),
    destination: `/etc/${name}`,
    readOnly: false,
  }));
}
