/**
 * HTTP(S) requests to registries on node:http/node:https: one keep-alive agent per origin and
 * TLS setting, a connect timeout and an idle timeout, cancellation by AbortSignal, and bodies
 * read only up to a stated limit. Registries send little besides blobs (manifests, tokens,
 * errors), and blobs are streamed, so undici's pipelining buys nothing here and node:https
 * keeps the bundle small.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { generalError } from '../../../api/errors.js';

/** Timeouts of a request, in ms. */
export interface Timeouts {
  /** TCP (and TLS) connection established. */
  connect: number;
  /** No byte in either direction for this long ends the request. */
  idle: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connect: 30_000, idle: 60_000 };

/** How to talk TLS to one host. */
export interface TlsSettings {
  /** Verify the server's certificate (false: an insecure registry). */
  verify: boolean;
  /** Trusted CAs (system ones plus certs.d); undefined: Node's defaults. */
  ca?: string[];
  cert?: string;
  key?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A body with a known length (Content-Length set from it) or a stream with contentLength. */
  body?: Buffer | Readable;
  contentLength?: number;
  tls?: TlsSettings;
  signal?: AbortSignal;
  timeouts?: Timeouts;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Each header's values separately (WWW-Authenticate may come more than once). */
  headersDistinct: Record<string, string[]>;
  body: http.IncomingMessage;
  url: URL;
}

/** Keep-alive agents by origin and TLS settings, so a pull's requests share connections. */
export class AgentPool {
  private readonly agents = new Map<string, http.Agent>();

  get(url: URL, tls: TlsSettings | undefined): http.Agent {
    const key = `${url.protocol}//${url.host}|${tls ? `${tls.verify}|${tls.ca?.length ?? 0}|${tls.cert ? 1 : 0}` : ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent =
        url.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: tls?.verify ?? true, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
          : new http.Agent({ keepAlive: true, maxSockets: 16 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** A request that failed before any HTTP status (refused, reset, TLS, timeout). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : generalError('cancelled');
}

/** Sends one request; resolves with the response head, its body still to be read. */
export function request(url: URL, agents: AgentPool, opts: RequestOptions = {}): Promise<Response> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(aborted(signal));
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const headers: Record<string, string> = { 'user-agent': 'isulad-ts', ...opts.headers };
  if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length);
  else if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    let response: http.IncomingMessage | undefined;
    const req = mod.request(url, { method: opts.method ?? 'GET', headers, agent: agents.get(url, opts.tls) });
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (opts.body !== undefined && !Buffer.isBuffer(opts.body)) opts.body.destroy();
      reject(e);
    };
    const onAbort = (): void => {
      const e = aborted(signal as AbortSignal);
      // Once the head is in, the body's reader gets the reason.
      if (response) response.destroy(e);
      else req.destroy(e);
      fail(e);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      // A reused keep-alive socket is connected already; a new one gets the connect timer.
      if (socket.connecting || (socket as { pending?: boolean }).pending) {
        const timer = setTimeout(
          () => req.destroy(new TransportError(`connecting to ${url.host}: timed out after ${timeouts.connect / 1000}s`, 'ETIMEDOUT')),
          timeouts.connect,
        );
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      }
    });
    req.setTimeout(timeouts.idle, () => {
      const e = new TransportError(`${url.host}: no data for ${timeouts.idle / 1000}s`, 'ETIMEDOUT');
      if (response) response.destroy(e);
      req.destroy(e);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof TransportError || signal?.aborted) return fail(e);
      fail(new TransportError(`${opts.method ?? 'GET'} ${url.origin}${url.pathname}: ${e.message}`, e.code));
    });
    req.on('response', (res) => {
      settled = true;
      response = res;
      // The abort listener stays while the body is read: aborting then destroys the body.
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      res.once('close', detach);
      res.once('end', detach);
      res.on('error', () => undefined);
      // headersDistinct is Node 18.3+; the Bun build may lack it, so the joined headers stand in.
      const distinct =
        (res.headersDistinct as Record<string, string[]> | undefined) ??
        Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v : v === undefined ? [] : [v]]));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, headersDistinct: distinct, body: res, url });
    });
    if (opts.body === undefined || Buffer.isBuffer(opts.body)) req.end(opts.body);
    else {
      opts.body.on('error', (e) => req.destroy(e));
      opts.body.pipe(req);
    }
  });
}

/** Reads a response body of at most `limit` bytes; past it, the connection is dropped. */
export async function readBody(res: Response, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw generalError(`${what} from ${res.url.host} is ${declared} bytes, more than the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    got += chunk.length;
    if (got > limit) {
      res.body.destroy();
      throw generalError(`${what} from ${res.url.host} is more than the limit of ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, got);
}

/** Drops a body we do not want, keeping the connection when it is short. */
export function discard(res: Response): void {
  const len = Number(res.headers['content-length']);
  if (Number.isFinite(len) && len <= 65536) res.body.resume();
  else res.body.destroy();
}
