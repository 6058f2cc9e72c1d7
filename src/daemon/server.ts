import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import type { HandlerTable } from '../services/handlers.js';
import type { Logger } from '../sys/log.js';
import { parseHost, type HostAddress } from '../common/host.js';
import type { TlsSettings } from './config/config.js';
import { acceptUnixConnection } from './grpc/authority.js';
import { onStream, routeTable, type Route } from './grpc/dispatch.js';
import { closeWhenIdle, serverOptions } from './grpc/limits.js';
import { readBoundedRegularFileSync } from '../sys/bounded-read.js';
import { makeDirs } from '../sys/dirs.js';

/*
 * The daemon's gRPC server, directly on node:http2 (./grpc): @grpc/grpc-js cost about 2 MB
 * of an idle daemon's memory, 400 of its bundle's 960 KB and CPU on every call, for the
 * little of it the daemon used.
 */

export interface SocketOptions {
  /** gid owning the socket files. */
  gid: number;
  /** How tcp:// hosts are served (the config refuses plain TCP unless asked for); none: plain. */
  tls?: TlsSettings;
}

/** The daemon's listening sockets and the HTTP/2 connections they accepted. */
export interface GrpcServer {
  readonly listeners: net.Server[];
  readonly sessions: Set<http2.ServerHttp2Session>;
  /**
   * Unix-socket connections not handed to node:http2 yet (no session), each with what hands
   * it on now (false: it sent nothing, so has no HTTP/2 to close).
   */
  readonly silent: Map<net.Socket, () => boolean>;
}

/** A PEM file is a few kilobytes; a chain of certificates a few more. */
const MAX_PEM_BYTES = 1024 * 1024;

/** Read once at start, but with the rules of every file a user names: a FIFO or /dev/zero must not hang or fill the daemon. */
function readPem(file: string, what: string): Buffer {
  try {
    return readBoundedRegularFileSync(file, MAX_PEM_BYTES);
  } catch (e) {
    throw new Error(`cannot read the TLS ${what} ${file}: ${(e as Error).message}`);
  }
}

/** A host to listen on: its text as given, and where it points. */
type ListenHost = HostAddress & { text: string };

function listenHost(text: string, tls: TlsSettings | undefined): ListenHost {
  const host = parseHost(text, tls !== undefined && tls.mode !== 'none');
  if (typeof host === 'string') throw new Error(host);
  return { ...host, text };
}

/** A server for one host: plain for unix sockets (and plain TCP when asked), TLS otherwise. */
function makeServer(host: ListenHost, tls: TlsSettings | undefined): http2.Http2Server {
  if (host.kind === 'unix' || !tls || tls.mode === 'none') return http2.createServer(serverOptions());
  const verify = tls.mode === 'verify';
  return http2.createSecureServer({
    ...serverOptions(),
    cert: readPem(tls.certFile, 'certificate'),
    key: readPem(tls.keyFile, 'key'),
    ...(verify ? { ca: readPem(tls.caFile, 'CA certificate'), requestCert: true, rejectUnauthorized: true } : {}),
    minVersion: 'TLSv1.2',
  }) as unknown as http2.Http2Server;
}

async function listen(server: net.Server, host: ListenHost, socket: SocketOptions): Promise<void> {
  const failure = (e: unknown): Error => new Error(`cannot listen on ${host.text}: ${(e as Error).message}`);
  if (host.kind === 'unix') {
    try {
      makeDirs(path.dirname(host.path));
      // We hold the pidfile, so a socket file left here belongs to a dead daemon.
      fs.rmSync(host.path, { force: true });
    } catch (e) {
      throw failure(e);
    }
  }
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error): void => reject(failure(e));
    server.once('error', failed);
    const done = (): void => {
      server.off('error', failed);
      resolve();
    };
    if (host.kind === 'unix') server.listen(host.path, done);
    else server.listen(host.port, host.host, done);
  });
  if (host.kind === 'unix') {
    fs.chmodSync(host.path, 0o660);
    fs.chownSync(host.path, 0, socket.gid);
  }
}

/**
 * Serves the handler table over gRPC on every host: unix sockets, and tcp:// with or without
 * TLS; `more` adds routes of other services (CRI) on the same sockets.
 */
export async function startServer(
  hosts: string[],
  handlers: HandlerTable,
  socket: SocketOptions,
  log: Logger,
  more: Map<string, Route> = new Map(),
): Promise<GrpcServer> {
  const routes = new Map([...routeTable(handlers), ...more]);
  const grpc: GrpcServer = { listeners: [], sessions: new Set(), silent: new Map() };
  try {
    for (const text of hosts) {
      const host = listenHost(text, socket.tls);
      const server = makeServer(host, socket.tls);
      server.on('stream', (stream, headers) => onStream(routes, log, stream, headers));
      server.on('session', (session) => {
        closeWhenIdle(session);
        grpc.sessions.add(session);
        session.on('close', () => grpc.sessions.delete(session));
        session.on('error', (e) => log.debug(`connection error: ${e.message}`));
      });
      // A client that fails the handshake (no certificate, an unknown CA) is refused here.
      server.on('tlsClientError', (e: Error & { reason?: string }) => log.warn(`${host.text}: refused a TLS client: ${e.reason ?? e.message.split('\n')[0]}`));
      // On unix sockets grpc-go clients may send a socket path as :authority, which nghttp2
      // refuses: their connections reach node:http2 through the fix (./grpc/authority.ts).
      const accept = (c: net.Socket): void => {
        const handOn = acceptUnixConnection(c, (connection) => {
          grpc.silent.delete(c);
          server.emit('connection', connection);
        });
        grpc.silent.set(c, handOn);
        c.once('close', () => grpc.silent.delete(c));
      };
      const listener = host.kind === 'unix' ? net.createServer(accept) : server;
      grpc.listeners.push(listener);
      await listen(listener, host, socket);
      listener.on('error', (e) => log.error(`${host.text}: ${e.message}`));
      const mode = socket.tls?.mode ?? 'none';
      if (host.kind === 'tcp' && mode === 'none') {
        log.warn(`listening on ${host.text} WITHOUT TLS (--tls=false): anyone who can reach this port controls the host; use --tlsverify`);
      } else {
        const how = host.kind === 'unix' ? '' : mode === 'verify' ? ' (TLS, client certificates required)' : ' (TLS, no client certificates)';
        log.info(`listening on ${host.text}${how}`);
      }
    }
  } catch (e) {
    await stopServer(grpc);
    throw e;
  }
  return grpc;
}

/**
 * Stops listening and ends every connection: GOAWAY first, so calls under way (a stop, a
 * load) can finish; streams that never end by themselves (events, logs -f) are cut after
 * two seconds.
 */
export async function stopServer(server: GrpcServer): Promise<void> {
  const closed = server.listeners.map((l) => new Promise<void>((resolve) => (l.listening ? l.close(() => resolve()) : resolve())));
  // A connection that began HTTP/2 but made no call yet becomes a session, for its GOAWAY.
  for (const [socket, handOn] of server.silent) if (!handOn()) socket.destroy();
  for (const session of server.sessions) session.close();
  const force = setTimeout(() => {
    for (const session of server.sessions) session.destroy();
  }, 2000);
  await Promise.all(closed);
  clearTimeout(force);
}
