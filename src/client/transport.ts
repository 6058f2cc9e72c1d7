import http2 from 'node:http2';
import net from 'node:net';
import { decodeMessage, encodeMessage, EXIT_CODE_TRAILER } from '../api/codec.js';
import { EngineError, ExitCode, isExitCode } from '../api/errors.js';
import { grpcPath, type MethodName, type Req, type Res, type StreamMethod, type UnaryMethod } from '../api/rpc.js';
import { frame, FrameReader } from './frames.js';

const GRPC_OK = 0;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The daemon could not be reached at all (as opposed to an error the daemon answered with). */
export class ConnectError extends EngineError {
  constructor(host: string, cause: string) {
    super(ExitCode.general, `Cannot connect to the isulad daemon at ${host} (${cause}). Is the daemon running?`);
  }
}

/** An error the daemon answered with (as opposed to one found in the client). */
export class DaemonError extends EngineError {}

export interface StreamHandle<In> {
  /** Sends one more message to the daemon (bidirectional methods only). */
  send(message: In): void;
  /** Half-closes the request side. */
  end(): void;
  /** Cancels the call. */
  cancel(): void;
}

/**
 * A small gRPC client over node:http2 on a unix socket. The CLI avoids @grpc/grpc-js: it
 * costs more to load than a whole unary round trip.
 */
export class Transport {
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly host: string,
    private readonly socketPath: string,
  ) {}

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.destroyed) return this.session;
    const session = http2.connect('http://localhost', {
      createConnection: () => net.connect(this.socketPath),
    });
    // Errors surface on the streams; an unhandled session error would crash the client.
    session.on('error', () => undefined);
    this.session = session;
    return session;
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  unary<M extends UnaryMethod>(method: M, request: Req<M>): Promise<Res<M>> {
    return new Promise((resolve, reject) => {
      let reply: Res<M> | undefined;
      this.open(method, request, true, {
        onMessage: (m) => (reply = m as Res<M>),
        onEnd: (err) => (err ? reject(err) : resolve(reply ?? ({} as Res<M>))),
      });
    });
  }

  /**
   * Calls a streaming method; `onMessage` sees each reply. The promise settles when the
   * daemon ends the call. For bidirectional methods the handle sends more requests.
   */
  stream<M extends StreamMethod>(
    method: M,
    request: Req<M>,
    onMessage: (message: Res<M>) => void,
    keepOpen = false,
  ): { done: Promise<void>; handle: StreamHandle<Req<M>> } {
    let handle!: StreamHandle<Req<M>>;
    const done = new Promise<void>((resolve, reject) => {
      handle = this.open(method, request, !keepOpen, {
        onMessage: (m) => onMessage(m as Res<M>),
        onEnd: (err) => (err ? reject(err) : resolve()),
      });
    });
    return { done, handle };
  }

  private open<In>(
    method: MethodName,
    request: In,
    endRequest: boolean,
    sink: { onMessage: (m: unknown) => void; onEnd: (err?: EngineError) => void },
  ): StreamHandle<In> {
    let settled = false;
    let cancelledByUs = false;
    const finish = (err?: EngineError): void => {
      if (settled) return;
      settled = true;
      sink.onEnd(err);
    };
    let session: http2.ClientHttp2Session;
    try {
      session = this.connect();
    } catch (e) {
      finish(new ConnectError(this.host, (e as Error).message));
      return { send: () => undefined, end: () => undefined, cancel: () => undefined };
    }
    const req = session.request({
      ':method': 'POST',
      ':path': grpcPath(method),
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const reader = new FrameReader();
    let status: { code: number; message: string; exitCode: number } | undefined;
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      const code = headers['grpc-status'];
      if (code === undefined) return;
      const rawMessage = headers['grpc-message'];
      const exit = Number(headers[EXIT_CODE_TRAILER]);
      status = {
        code: Number(code),
        message: safeDecode(typeof rawMessage === 'string' ? rawMessage : ''),
        exitCode: exit,
      };
    };
    // A status ends the call, in trailers or in a trailers-only response; close our side
    // too, or a bidirectional stream never closes.
    const onHeaders = (headers: http2.IncomingHttpHeaders): void => {
      readStatus(headers);
      if (status && !req.writableEnded) req.end();
    };
    req.on('response', onHeaders);
    req.on('trailers', onHeaders);
    req.on('data', (chunk: Buffer) => {
      try {
        for (const m of reader.push(chunk)) sink.onMessage(decodeMessage(m));
      } catch (e) {
        finish(new EngineError(ExitCode.general, `bad reply from daemon: ${(e as Error).message}`));
        req.close();
      }
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A failed connect shows up as a cancelled pending stream whose cause is the socket error.
      const cause = (e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.code;
      const connectFailure = cause === 'ENOENT' || cause === 'ECONNREFUSED' || cause === 'EACCES' || cause === 'ENOTSOCK';
      finish(connectFailure ? new ConnectError(this.host, cause ?? e.message) : new EngineError(ExitCode.general, e.message));
    });
    req.on('close', () => {
      if (cancelledByUs) return finish();
      if (!status) return finish(new EngineError(ExitCode.general, 'connection to the daemon closed unexpectedly'));
      if (status.code === GRPC_OK) return finish();
      const exitCode = isExitCode(status.exitCode) ? status.exitCode : ExitCode.general;
      finish(new DaemonError(exitCode, status.message || `daemon error (gRPC status ${status.code})`));
    });
    req.write(frame(encodeMessage(request)));
    if (endRequest) req.end();
    return {
      send: (m: In) => {
        if (!req.closed) req.write(frame(encodeMessage(m)));
      },
      end: () => req.end(),
      cancel: () => {
        cancelledByUs = true;
        req.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }
}

export const DEFAULT_HOST = 'unix:///var/run/isulad.sock';

/** `-H`, then `ISULAD_HOST`, then the default socket. Only unix sockets are served. */
export function resolveHost(flag: string | undefined): { host: string; socketPath: string } {
  const host = flag || process.env.ISULAD_HOST || DEFAULT_HOST;
  if (!host.startsWith('unix://')) {
    throw new EngineError(ExitCode.invalidArgs, `Invalid host ${host}: only unix:///path sockets are supported`);
  }
  return { host, socketPath: host.slice('unix://'.length) };
}
