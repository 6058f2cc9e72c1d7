import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import type { HandlerTable } from '../services/handlers.js';
import type { Logger } from '../sys/log.js';
import { onStream, routeTable } from './grpc/dispatch.js';
import { closeWhenIdle, serverOptions } from './grpc/limits.js';
import { makeDirs } from '../sys/dirs.js';

/*
 * The daemon's gRPC server, directly on node:http2 (./grpc): @grpc/grpc-js cost about 2 MB
 * of an idle daemon's memory, 400 of its bundle's 960 KB and CPU on every call, for the
 * little of it the daemon used.
 */

export interface SocketOptions {
  /** gid owning the socket files. */
  gid: number;
}

/** The daemon's listening sockets and the HTTP/2 connections they accepted. */
export interface GrpcServer {
  readonly listeners: http2.Http2Server[];
  readonly sessions: Set<http2.ServerHttp2Session>;
}

async function listen(server: http2.Http2Server, host: string, socket: SocketOptions): Promise<void> {
  if (!host.startsWith('unix://')) throw new Error(`invalid host ${host}: only unix:///path sockets are supported`);
  const file = host.slice('unix://'.length);
  // sun_path holds 108 bytes with the NUL; a longer path would be cut short, silently.
  if (Buffer.byteLength(file) > 107) throw new Error(`invalid host ${host}: the socket path is longer than 107 bytes`);
  const failure = (e: unknown): Error => new Error(`cannot listen on ${host}: ${(e as Error).message}`);
  try {
    makeDirs(path.dirname(file));
    // We hold the pidfile, so a socket file left here belongs to a dead daemon.
    fs.rmSync(file, { force: true });
  } catch (e) {
    throw failure(e);
  }
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error): void => reject(failure(e));
    server.once('error', failed);
    server.listen(file, () => {
      server.off('error', failed);
      resolve();
    });
  });
  fs.chmodSync(file, 0o660);
  fs.chownSync(file, 0, socket.gid);
}

/** Serves the handler table over gRPC on every unix socket in `hosts`. */
export async function startServer(hosts: string[], handlers: HandlerTable, socket: SocketOptions, log: Logger): Promise<GrpcServer> {
  const routes = routeTable(handlers);
  const grpc: GrpcServer = { listeners: [], sessions: new Set() };
  try {
    for (const host of hosts) {
      const server = http2.createServer(serverOptions());
      server.on('stream', (stream, headers) => onStream(routes, log, stream, headers));
      server.on('session', (session) => {
        closeWhenIdle(session);
        grpc.sessions.add(session);
        session.on('close', () => grpc.sessions.delete(session));
        session.on('error', (e) => log.debug(`connection error: ${e.message}`));
      });
      grpc.listeners.push(server);
      await listen(server, host, socket);
      server.on('error', (e) => log.error(`${host}: ${e.message}`));
      log.info(`listening on ${host}`);
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
  for (const session of server.sessions) session.close();
  const force = setTimeout(() => {
    for (const session of server.sessions) session.destroy();
  }, 2000);
  await Promise.all(closed);
  clearTimeout(force);
}
