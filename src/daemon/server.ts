import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, EXIT_CODE_TRAILER } from '../api/codec.js';
import { toEngineError } from '../api/errors.js';
import { grpcPath, methodKinds, type MethodName } from '../api/rpc.js';
import type { HandlerTable, StreamCall } from '../services/handlers.js';
import type { Logger } from '../sys/log.js';

function errorStatus(err: unknown): Partial<grpc.StatusObject> {
  const e = toEngineError(err);
  const metadata = new grpc.Metadata();
  metadata.set(EXIT_CODE_TRAILER, String(e.exitCode));
  return { code: grpc.status.UNKNOWN, details: e.message, metadata };
}

type AnyHandler = (request: unknown, call?: StreamCall<MethodName>) => Promise<unknown>;

function definitionFor(method: MethodName): grpc.MethodDefinition<unknown, unknown> {
  const kind = methodKinds[method] as string;
  return {
    path: grpcPath(method),
    requestStream: kind === 'bidi',
    responseStream: kind !== 'unary',
    requestSerialize: encodeMessage,
    requestDeserialize: (b: Buffer) => decodeMessage(b),
    responseSerialize: encodeMessage,
    responseDeserialize: (b: Buffer) => decodeMessage(b),
  };
}

function implementationFor(method: MethodName, handler: AnyHandler, log: Logger): grpc.UntypedHandleCall {
  const kind = methodKinds[method] as string;
  if (kind === 'unary') {
    return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      // Through a promise, so a handler that throws before its first await still answers.
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
        (res) => callback(null, res ?? {}),
        (err: unknown) => {
          log.debug(`${method} failed: ${toEngineError(err).message}`);
          callback(errorStatus(err) as grpc.ServiceError);
        },
      );
    };
  }
  const serve = (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, first: unknown): void => {
    let cancelled = false;
    let finished = false;
    const cancelListeners: (() => void)[] = [];
    const cancel = (): void => {
      if (cancelled || finished) return;
      cancelled = true;
      for (const l of cancelListeners) l();
    };
    call.on('cancelled', cancel);
    call.on('close', cancel);
    // Requests after the first can arrive before the handler listens (it may be starting
    // a container meanwhile): queue them until it does.
    const queued: unknown[] = [];
    let listener: ((m: unknown) => void) | undefined;
    call.on('data', (m: unknown) => (listener ? listener(m) : queued.push(m)));
    const wrapped: StreamCall<MethodName> = {
      write: (m) => {
        if (!cancelled) call.write(m);
      },
      onMessage: (l) => {
        listener = l as (m: unknown) => void;
        for (const m of queued.splice(0)) listener(m);
      },
      onCancel: (l) => cancelListeners.push(l),
      get cancelled() {
        return cancelled;
      },
    };
    Promise.resolve()
      .then(() => handler(first, wrapped))
      .then(
      () => {
        finished = true;
        if (!cancelled) call.end();
      },
      (err: unknown) => {
        finished = true;
        if (!cancelled) call.emit('error', errorStatus(err));
      },
    );
  };
  if (kind === 'bidi') {
    // The first message of a bidirectional call is its request; later ones go to onMessage.
    return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      call.once('data', (first: unknown) => serve(call, first));
    };

  }
  return (call: grpc.ServerWritableStream<unknown, unknown>) => serve(call, call.request);
}

export interface SocketOptions {
  /** gid owning the socket files. */
  gid: number;
}

/** Serves the handler table over gRPC on every unix socket in `hosts`. */
export async function startServer(hosts: string[], handlers: HandlerTable, socket: SocketOptions, log: Logger): Promise<grpc.Server> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const byService = new Map<string, { defs: Record<string, grpc.MethodDefinition<unknown, unknown>>; impls: grpc.UntypedServiceImplementation }>();
  for (const method of Object.keys(methodKinds) as MethodName[]) {
    const [service, name] = method.split('/') as [string, string];
    const entry = byService.get(service) ?? { defs: {}, impls: {} };
    entry.defs[name] = definitionFor(method);
    entry.impls[name] = implementationFor(method, handlers[method] as AnyHandler, log);
    byService.set(service, entry);
  }
  for (const { defs, impls } of byService.values()) server.addService(defs, impls);

  for (const host of hosts) {
    if (!host.startsWith('unix://')) throw new Error(`invalid host ${host}: only unix:///path sockets are supported`);
    const file = host.slice('unix://'.length);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // We hold the pidfile, so a socket file left here belongs to a dead daemon.
    fs.rmSync(file, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${file}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    fs.chmodSync(file, 0o660);
    fs.chownSync(file, 0, socket.gid);
    log.info(`listening on ${host}`);
  }
  return server;
}

export function stopServer(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
