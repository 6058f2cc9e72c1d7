import { decodeMessage, encodeMessage, EXIT_CODE_TRAILER } from '../api/codec.js';
import { EngineError, ExitCode, isExitCode, kindOfStatus } from '../api/errors.js';
import { grpcPath, type MethodName, type Req, type Res, type StreamMethod, type UnaryMethod } from '../api/rpc.js';
import { frameMessage, MessageReader } from '../api/grpc-framing.js';
import { Status } from '../api/grpc-status.js';
import { parseHost } from '../common/host.js';
import { H2Session, type H2Stream, type SessionSocket, type StreamError } from './h2/session.js';
import { connectTcp, type ClientTls } from './tcp-socket.js';
import { connectUnix } from './unix-socket.js';

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

/** Errors that mean the daemon was not reached (unix socket or TCP). */
const CONNECT_FAILURES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

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

/** How to reach a tcp:// daemon: a new connection each call, and the URL scheme it speaks. */
export interface Dialer {
  scheme: 'http' | 'https';
  connect(): SessionSocket;
}

/**
 * A small gRPC client over our own HTTP/2 (./h2) on a unix socket (or a TCP connection). The CLI avoids
 * @grpc/grpc-js, which costs more to load than a whole unary round trip, and node:http2,
 * which pulls in tls, http, crypto and assert: about a quarter of a short command's CPU.
 */
export class Transport {
  private session: H2Session | undefined;

  /** `target` is the unix socket's path, or a dialer for tcp:// hosts. */
  constructor(
    private readonly host: string,
    private readonly target: string | Dialer,
  ) {}

  private connect(): H2Session {
    // Socket errors surface on the streams, as each stream's close.
    if (!this.session?.usable) {
      this.session = new H2Session(typeof this.target === 'string' ? connectUnix(this.target) : this.target.connect());
    }
    return this.session;
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
    let status: { code: number; message: string; exitCode: number } | undefined;
    const readStatus = (headers: Record<string, string>): void => {
      const code = headers['grpc-status'];
      if (code === undefined) return;
      status = {
        code: Number(code),
        message: safeDecode(headers['grpc-message'] ?? ''),
        exitCode: Number(headers[EXIT_CODE_TRAILER]),
      };
    };
    // The daemon is trusted with the size of its replies (logs and events stream a lot).
    const reader = new MessageReader(Infinity, 'identity');
    let req: H2Stream;
    try {
      req = this.connect().request(
        [
          [':method', 'POST'],
          [':scheme', typeof this.target === 'string' ? 'http' : this.target.scheme],
          [':path', grpcPath(method)],
          [':authority', 'localhost'],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
        ],
        {
          // A status ends the call, in trailers or in a trailers-only response; close our
          // side too, or a bidirectional stream never closes.
          onHeaders: (headers) => {
            readStatus(headers);
            if (status) req.end();
          },
          onData: (chunk) => {
            try {
              for (const m of reader.push(chunk)) sink.onMessage(decodeMessage(m));
            } catch (e) {
              finish(new EngineError(ExitCode.general, `bad reply from daemon: ${(e as Error).message}`));
              req.cancel(0);
            }
          },
          onClose: (e?: StreamError) => {
            if (e) {
              const connectFailure = CONNECT_FAILURES.has(e.code ?? '');
              return finish(connectFailure ? new ConnectError(this.host, e.code ?? e.message) : new EngineError(ExitCode.general, e.message));
            }
            if (cancelledByUs) return finish();
            if (!status) return finish(new EngineError(ExitCode.general, 'connection to the daemon closed unexpectedly'));
            if (status.code === Status.OK) return finish();
            // The status names the kind; the daemon's trailer the exact exit code. A call that
            // failed in gRPC itself (limits, deadlines, framing) has no trailer, and exits 1 as
            // iSulad's client does for a failed call.
            const exitCode = isExitCode(status.exitCode) ? status.exitCode : ExitCode.general;
            finish(new DaemonError(exitCode, status.message || `daemon error (gRPC status ${status.code})`, kindOfStatus(status.code)));
          },
        },
      );
    } catch (e) {
      // A TLS file that cannot be read is the user's to fix, not a daemon that is down.
      finish(e instanceof EngineError ? e : new ConnectError(this.host, (e as Error).message));
      return { send: () => undefined, end: () => undefined, cancel: () => undefined };
    }
    req.write(frameMessage(encodeMessage(request)));
    if (endRequest) req.end();
    return {
      send: (m: In) => req.write(frameMessage(encodeMessage(m))),
      end: () => req.end(),
      cancel: () => {
        cancelledByUs = true;
        req.cancel();
      },
    };
  }
}

export const DEFAULT_HOST = 'unix:///var/run/isulad.sock';

/** The client's TLS flags as given; --tlsverify implies --tls. */
export interface TlsFlags {
  tls: boolean;
  verify: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * `-H`, then `ISULAD_HOST`, then the default socket. A tcp:// host speaks TLS with --tls or
 * --tlsverify, plain TCP otherwise.
 */
export function resolveHost(flag: string | undefined, tls?: TlsFlags): { host: string; target: string | Dialer } {
  const host = flag || process.env.ISULAD_HOST || DEFAULT_HOST;
  const secure = tls !== undefined && (tls.tls || tls.verify);
  const address = parseHost(host, secure);
  if (typeof address === 'string') throw new EngineError(ExitCode.invalidArgs, address.replace(/^invalid/, 'Invalid'));
  if (address.kind === 'unix') return { host, target: address.path };
  const options: ClientTls | undefined = secure ? { verify: tls.verify, caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } : undefined;
  return { host, target: { scheme: secure ? 'https' : 'http', connect: () => connectTcp(address.host, address.port, options) } };
}
