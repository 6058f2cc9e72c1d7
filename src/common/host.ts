/** `-H` addresses as iSulad and Docker write them, parsed the same way by the client and the daemon. */

export type HostAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Docker's ports: 2376 when TLS is on, 2375 for plain TCP. */
export const defaultTcpPort = (tls: boolean): number => (tls ? 2376 : 2375);

/**
 * `unix:///path` or `tcp://HOST[:PORT]` (HOST a name, an IPv4 address or `[IPv6]`; an empty
 * HOST is every address). Returns a one-line reason for anything else.
 */
export function parseHost(text: string, tls: boolean): HostAddress | string {
  if (text.startsWith('unix://')) {
    const path = text.slice('unix://'.length);
    if (!path.startsWith('/')) return `invalid host ${text}: want unix:///absolute/path`;
    // sun_path holds 108 bytes with the NUL; a longer path would be cut short, silently.
    if (Buffer.byteLength(path) > 107) return `invalid host ${text}: the socket path is longer than 107 bytes`;
    return { kind: 'unix', path };
  }
  if (!text.startsWith('tcp://')) return `invalid host ${text}: want unix:///path or tcp://HOST:PORT`;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^[\]:/]*))(?::(\d{1,5}))?$/.exec(text.slice('tcp://'.length));
  if (!m) return `invalid host ${text}: want tcp://HOST:PORT`;
  const port = m[3] === undefined ? defaultTcpPort(tls) : Number(m[3]);
  if (port < 1 || port > 65535) return `invalid host ${text}: the port must be 1-65535`;
  return { kind: 'tcp', host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
