// Routes gRPC calls to the handler table, as unary, server-streaming or bidirectional calls.
import type http2 from 'node:http2';
import { EXIT_CODE_TRAILER } from '../../api/codec.js';
import { ERROR_KINDS, type EngineError, toEngineError } from '../../api/errors.js';
import { grpcPath, methodKinds, type MethodKind, type MethodName } from '../../api/rpc.js';
import type { HandlerTable, StreamCall } from '../../services/handlers.js';
import type { Logger } from '../../sys/log.js';
import { CBOR_CODEC, ServerCall, type MessageCodec } from './call.js';
import { GRPC_LIMITS } from './limits.js';
import { GrpcError, Status, type CallStatus } from '../../api/grpc-status.js';

type AnyHandler = (request: unknown, call?: StreamCall<MethodName>) => Promise<unknown>;

export interface Route {
  /** `Svc/Name` of the isula services, `runtime.v1.Svc/Name` of CRI: for the log. */
  method: string;
  kind: MethodKind;
  handler: AnyHandler;
  codec: MessageCodec;
  /** Protobuf messages: the request's content-type must allow them. */
  protobuf?: boolean;
}

/**
 * A handler's error as the call's status: the gRPC code of its kind, and iSulad's exit code
 * in a trailer of its own (several exit codes share a kind: an image not found exits 20).
 */
function errorStatus(e: EngineError): CallStatus {
  return { code: ERROR_KINDS[e.kind].grpcStatus, message: e.message, metadata: { [EXIT_CODE_TRAILER]: String(e.exitCode) } };
}

/** Runs a handler and answers with its outcome: a unary result (`{}` for none), or just OK. */
function answer(route: Route, call: ServerCall, request: unknown, log: Logger, streamCall?: StreamCall<MethodName>): void {
  // Through a promise, so a handler that throws before its first await still answers.
  Promise.resolve()
    .then(() => route.handler(request, streamCall))
    .then(
      (res) => {
        if (route.kind === 'unary') call.send(res ?? {});
        call.finish({ code: Status.OK });
      },
      (err: unknown) => {
        // Converted once, here at the edge: whatever a handler throws leaves as a status.
        const e = toEngineError(err);
        log.debug(`${route.method} failed: ${e.message}`);
        call.finish(errorStatus(e));
      },
    );
}

function serve(route: Route, call: ServerCall, log: Logger): void {
  // Requests after the first of a bidirectional call can arrive before the handler listens
  // (it may be starting a container meanwhile): queue them until it does, reading no more
  // meanwhile. A listener that returns a promise (its input is full) stops the reading
  // until the promise settles: HTTP/2 flow control then holds the client back.
  const queued: unknown[] = [];
  let listener: ((m: unknown) => void | Promise<void>) | undefined;
  const deliver = (m: unknown): void => {
    const full = listener!(m);
    if (full) {
      call.pauseInput();
      void full.finally(() => call.resumeInput());
    }
  };
  const streamCall: StreamCall<MethodName> = {
    write: (m) => call.send(m),
    drained: () => call.drained(),
    onMessage: (l) => {
      listener = l as (m: unknown) => void | Promise<void>;
      for (const m of queued.splice(0)) deliver(m);
      call.resumeInput();
    },
    onCancel: (l) => call.onCancel(l),
    get cancelled() {
      return call.cancelled;
    },
    answered: () => call.answered(),
  };

  if (route.kind === 'bidi') {
    // The first message is the call's request; later ones go to onMessage.
    let started = false;
    call.read(
      (m) => {
        if (!started) {
          started = true;
          answer(route, call, m, log, streamCall);
        } else if (listener) deliver(m);
        else {
          if (queued.length === 0) call.pauseInput();
          queued.push(m);
        }
      },
      () => {
        if (!started) call.fail(new GrpcError(Status.INTERNAL, `${route.method}: no request message`));
      },
    );
    return;
  }
  // Unary and server-streaming calls carry one request, complete when the client half-closes;
  // one that never completes would hold its stream, and what came of it, for ever.
  const requests: unknown[] = [];
  const incomplete = setTimeout(
    () =>
      call.fail(new GrpcError(Status.DEADLINE_EXCEEDED, `${route.method}: the request did not arrive in full within ${GRPC_LIMITS.requestTimeoutMs / 1000} s`)),
    GRPC_LIMITS.requestTimeoutMs,
  );
  call.onCancel(() => clearTimeout(incomplete));
  const refuse = (): void => call.fail(new GrpcError(Status.INTERNAL, `${route.method} takes one request message, got ${requests.length}`));
  call.read(
    (m) => {
      // Refused at the second: messages kept until the end would pile up without bound.
      if (requests.push(m) > 1) refuse();
    },
    () => {
      clearTimeout(incomplete);
      // Unary handlers get it too: a long one (a CRI pull) stops when its client goes away.
      if (requests.length === 1) answer(route, call, requests[0], log, streamCall);
      else refuse();
    },
  );
}

export function routeTable(handlers: HandlerTable): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const method of Object.keys(methodKinds) as MethodName[]) {
    routes.set(grpcPath(method), { method, kind: methodKinds[method], handler: handlers[method] as AnyHandler, codec: CBOR_CODEC });
  }
  return routes;
}

/** Serves one HTTP/2 stream: a gRPC call, or a refusal for anything else. */
export function onStream(routes: Map<string, Route>, log: Logger, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  // Not gRPC at all: plain HTTP answers, as the gRPC spec asks.
  const refuse = (status: number): void => {
    stream.on('error', () => undefined);
    stream.resume();
    stream.respond({ ':status': status }, { endStream: true });
  };
  if (headers[':method'] !== 'POST') return refuse(405);
  const contentType = headers['content-type'] ?? '';
  if (!contentType.startsWith('application/grpc')) return refuse(415);
  const target = headers[':path'] ?? '';
  const route = routes.get(target);
  // The CRI services speak protobuf only: `application/grpc` means it, `+proto` names it.
  if (route?.protobuf && contentType !== 'application/grpc' && !contentType.startsWith('application/grpc+proto')) return refuse(415);
  const call = new ServerCall(stream, headers, route?.codec);
  if (!route) return call.finish({ code: Status.UNIMPLEMENTED, message: `The server does not implement the method ${target}` });
  serve(route, call, log);
}
