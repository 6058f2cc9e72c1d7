import fs from 'node:fs';
import type net from 'node:net';
import type tls from 'node:tls';
import { invalidArgs } from '../api/errors.js';
import type { SessionSocket } from './h2/session.js';

/**
 * Connections to tcp:// hosts. node:net and node:tls are loaded here, on the first tcp://
 * call only: a unix-socket call (./unix-socket.ts) must not pay for them (node:tls brings
 * in node:net, node:stream and crypto).
 */

export interface ClientTls {
  /** Check the daemon's certificate against `caFile` (--tlsverify); otherwise any is taken (--tls). */
  verify: boolean;
  caFile: string;
  /** The client's own certificate, sent when both files exist (required by a --tlsverify daemon). */
  certFile: string;
  keyFile: string;
}

/** A PEM file is a few kilobytes; a chain of certificates a few more. */
const MAX_PEM_BYTES = 1024 * 1024;

/** A PEM file's bytes; undefined when it does not exist and `optional`. */
function readPem(file: string, what: string, optional: boolean): Buffer | undefined {
  try {
    if (fs.statSync(file).size > MAX_PEM_BYTES) throw new Error(`larger than ${MAX_PEM_BYTES} bytes`);
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return undefined;
    throw invalidArgs(`cannot read the TLS ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

const isIp = (host: string): boolean => /^[\d.]+$/.test(host) || host.includes(':');

/** TLS failures read as such, not as "is the daemon running?". */
function tlsError(e: NodeJS.ErrnoException & { reason?: string }): NodeJS.ErrnoException {
  if (!/^ERR_SSL_|^ERR_TLS_|CERT|SIGNATURE|ECONNRESET/.test(e.code ?? '')) return e;
  // OpenSSL's own message spans lines and names its source files; its reason is the news.
  return Object.assign(new Error(`TLS handshake with the daemon failed: ${e.reason ?? e.message.split('\n')[0]}`), { code: 'ETLS' });
}

/** Opens a connection at once; writes made before it is up go out when it is. */
export function connectTcp(host: string, port: number, options: ClientTls | undefined): SessionSocket {
  if (!options) {
    const netModule = process.getBuiltinModule('node:net') as typeof net;
    return netModule.connect({ host, port, noDelay: true });
  }
  const cert = readPem(options.certFile, 'certificate', true);
  const key = readPem(options.keyFile, 'key', true);
  const tlsModule = process.getBuiltinModule('node:tls') as typeof tls;
  const socket = tlsModule.connect({
    host,
    port,
    // RFC 6066: no server name indication for an address; the certificate is checked against it.
    ...(isIp(host) ? {} : { servername: host }),
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    rejectUnauthorized: options.verify,
    ...(options.verify ? { ca: readPem(options.caFile, 'CA certificate', false) } : {}),
    ...(cert && key ? { cert, key } : {}),
  });
  socket.setNoDelay(true);
  // A daemon opens every connection with its SETTINGS: one that closes without a byte has
  // refused this client. Under TLS 1.3 its alert saying so may be lost to that close.
  let answered = false;
  let failed = false;
  socket.on('data', () => (answered = true));
  const wrapped: SessionSocket = {
    on: ((event: 'data' | 'error' | 'close', listener: (...args: unknown[]) => void) => {
      if (event === 'error') {
        socket.on('error', (e: NodeJS.ErrnoException) => {
          failed = true;
          listener(tlsError(e));
        });
      } else if (event === 'close') {
        socket.on('close', () => {
          if (!answered && !failed)
            socket.emit(
              'error',
              Object.assign(
                new Error('the daemon closed the connection during the TLS handshake (a --tlsverify daemon takes only client certificates its CA signed)'),
                { code: 'ERR_TLS_REFUSED' },
              ),
            );
          listener();
        });
      } else {
        socket.on(event, listener);
      }
      return wrapped;
    }) as SessionSocket['on'],
    get writable() {
      return socket.writable;
    },
    write: (bytes) => socket.write(bytes),
    end: (done) => socket.end(done),
    destroy: () => socket.destroy(),
  };
  return wrapped;
}
