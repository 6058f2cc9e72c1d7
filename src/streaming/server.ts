// The CRI streaming server: Exec, Attach and PortForward hand out single-use URLs here, and
// clients (kubelet, crictl, client-go) upgrade them to SPDY/3.1 or WebSocket.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { Logger } from '../sys/log.js';
import { Inbox } from './inbox.js';
import {
  hasResize,
  negotiate,
  type Outcome,
  REMOTECOMMAND_PROTOCOLS,
  ResizeDecoder,
  runRemoteCommand,
  type SessionChannels,
  statusIsJson,
  statusMessage,
} from './remotecommand.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';
import { type PendingRequest, TOKEN_PATTERN, TokenCache } from './tokens.js';
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamingBackend } from './types.js';
import { acceptKey, Opcode, WsConnection } from './websocket.js';

export interface StreamingServerOptions {
  host: string;
  port: number;
  log: Logger;
  backend: StreamingBackend;
  /** Sessions served at once (iSulad's limit is 128); more are refused with 429. */
  maxSessions?: number;
}

export const MAX_SESSIONS = 128;
/** How long a client has to open the streams it asked for (kubelet's streamCreationTimeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;
/** A session with no traffic either way this long is cut (kubelet's default stream idle timeout). */
export const STREAM_IDLE_TIMEOUT_MS = 4 * 60 * 60 * 1000;
/** How long we wait for the client to hang up after a finished session before we do. */
const LINGER_MS = 5_000;
const PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;
const WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'] as const;
const WsChannel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

type Kind = PendingRequest['kind'];
const KINDS: readonly Kind[] = ['exec', 'attach', 'portforward'];

/** Values of a request header that may be repeated or comma-joined. */
function headerList(req: http.IncomingMessage, name: string): string[] {
  const raw = req.headersDistinct[name] ?? [];
  return raw
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function refuse(socket: Socket, status: number, message: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class StreamingServer {
  private readonly tokens = new TokenCache();
  private readonly sessions = new Set<Socket>();
  private readonly maxSessions: number;
  private server?: http.Server;
  private port: number;

  constructor(private readonly opts: StreamingServerOptions) {
    this.port = opts.port;
    this.maxSessions = opts.maxSessions ?? MAX_SESSIONS;
  }

  async start(): Promise<void> {
    // Bounded requests: an upgrade request is headers only, and must arrive promptly.
    const server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => {
      const route = this.route(req.url);
      res.writeHead(route ? 400 : 404, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(route ? 'this URL needs an upgrade to SPDY/3.1 or WebSocket\n' : 'not found\n');
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    server.on('clientError', (_err, socket: Socket) => refuse(socket, 400, 'bad request'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.opts.log.info(`CRI streaming server listening on ${this.baseUrl()}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sessions) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  execUrl(request: ExecRequest): string {
    return this.url('exec', { kind: 'exec', request: { ...request, cmd: [...request.cmd] } });
  }

  attachUrl(request: AttachRequest): string {
    return this.url('attach', { kind: 'attach', request: { ...request } });
  }

  portForwardUrl(request: PortForwardRequest): string {
    return this.url('portforward', { kind: 'portforward', request: { ...request } });
  }

  private baseUrl(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${host}:${this.port}`;
  }

  private url(kind: Kind, pending: PendingRequest): string {
    return `${this.baseUrl()}/${kind}/${this.tokens.insert(pending)}`;
  }

  private route(url: string | undefined): { kind: Kind; token: string } | undefined {
    const match = /^\/([a-z]+)\/([^/?#]+)(?:[?#].*)?$/.exec(url ?? '');
    if (!match || !KINDS.includes(match[1] as Kind) || !TOKEN_PATTERN.test(match[2] as string)) return undefined;
    return { kind: match[1] as Kind, token: match[2] as string };
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const route = this.route(req.url);
    if (!route) return refuse(socket, 404, 'not found');
    if (this.sessions.size >= this.maxSessions) return refuse(socket, 429, `too many streaming sessions (at most ${this.maxSessions})`);
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade !== 'spdy/3.1' && upgrade !== 'websocket')
      return refuse(socket, 400, `unsupported upgrade "${req.headers.upgrade ?? ''}": want SPDY/3.1 or websocket`);
    const pending = this.tokens.take(route.token, route.kind);
    if (!pending) return refuse(socket, 404, 'unknown or expired streaming URL');
    const log = this.opts.log.child('streaming');
    if (head.length > 0) socket.unshift(head);
    socket.setNoDelay(true);
    socket.setTimeout(STREAM_IDLE_TIMEOUT_MS, () => socket.destroy());
    this.sessions.add(socket);
    socket.once('close', () => this.sessions.delete(socket));
    const served = upgrade === 'websocket' ? this.serveWebSocket(req, socket, pending, log) : this.serveSpdy(req, socket, pending, log);
    served.catch((err: unknown) => {
      log.warn(`${route.kind} session failed: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    });
  }

  private async serveSpdy(req: http.IncomingMessage, socket: Socket, pending: PendingRequest, log: Logger): Promise<void> {
    const offered = headerList(req, 'x-stream-protocol-version');
    const supported: readonly string[] = pending.kind === 'portforward' ? PORT_FORWARD_PROTOCOLS : REMOTECOMMAND_PROTOCOLS;
    // A client that names no protocol is a legacy one (kubelet treats it as channel.k8s.io).
    const protocol = offered.length === 0 && pending.kind !== 'portforward' ? 'channel.k8s.io' : negotiate(offered, supported);
    if (protocol === undefined) {
      return refuse(socket, 403, `unable to negotiate a protocol: client offers [${offered.join(', ')}], server supports [${supported.join(', ')}]`);
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    if (pending.kind === 'portforward') return this.spdyPortForward(socket, pending.request, log);
    const request = pending.request;
    const expected = new Set(['error']);
    if (request.stdin) expected.add('stdin');
    if (request.stdout) expected.add('stdout');
    if (request.stderr && !request.tty) expected.add('stderr');
    if (request.tty && hasResize(protocol)) expected.add('resize');
    const streams = new Map<string, SpdyStream>();
    let ready: () => void = () => undefined;
    const allOpen = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const conn = new SpdyConnection(socket, (stream) => {
      const type = stream.headers.get('streamtype') ?? '';
      if (!expected.has(type) || streams.has(type)) {
        log.warn(`refusing an unexpected ${type || 'untyped'} stream`);
        stream.destroy();
        return;
      }
      streams.set(type, stream);
      if (streams.size === expected.size) ready();
    });
    const closed = conn.serve();
    const timer = setTimeout(() => socket.destroy(), STREAM_CREATION_TIMEOUT_MS);
    const opened = await Promise.race([allOpen.then(() => true), closed.then(() => false)]);
    clearTimeout(timer);
    if (!opened) return;
    const channels: SessionChannels = { stdin: streams.get('stdin'), stdout: streams.get('stdout'), stderr: streams.get('stderr') };
    const resizeStream = streams.get('resize');
    if (resizeStream) {
      const decoder = new ResizeDecoder(log);
      resizeStream.on('data', (chunk: Buffer) => decoder.write(chunk));
      channels.resize = decoder;
    }
    // The client sends nothing on the error stream; reading it lets its FIN through.
    const errorStream = streams.get('error') as SpdyStream;
    errorStream.resume();
    const outcome = await runRemoteCommand(this.opts.backend, pending, channels, request.tty, log);
    await new Promise<void>((resolve) => errorStream.end(statusMessage(outcome, protocol), () => resolve()));
    await this.linger(socket, closed, () => conn.end());
  }

  /** Client-go opens an error and a data stream per forwarded connection, paired by requestID. */
  private async spdyPortForward(socket: Socket, request: PortForwardRequest, log: Logger): Promise<void> {
    const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream; port: number }>();
    const conn = new SpdyConnection(socket, (stream) => {
      const type = stream.headers.get('streamtype');
      const portText = stream.headers.get('port') ?? '';
      const port = Number(portText);
      const id = stream.headers.get('requestid') ?? portText;
      if ((type !== 'error' && type !== 'data') || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
        log.warn(`refusing a port-forward stream: type ${type ?? 'none'}, port "${portText}"`);
        stream.destroy();
        return;
      }
      const pair = pairs.get(id) ?? { port };
      if (pair[type] !== undefined || pair.port !== port) {
        stream.destroy();
        return;
      }
      pair[type] = stream;
      pairs.set(id, pair);
      if (pair.error && pair.data) {
        pairs.delete(id);
        void this.forward(request.podId, pair.port, pair.error, pair.data, log);
      }
    });
    await conn.serve();
  }

  private async forward(podId: string, port: number, error: SpdyStream, data: SpdyStream, log: Logger): Promise<void> {
    error.resume();
    try {
      await this.opts.backend.portForward(podId, port, data);
    } catch (err) {
      const message = `error forwarding port ${port} to pod ${podId}: ${err instanceof Error ? err.message : String(err)}`;
      log.warn(message);
      error.write(message);
    }
    if (!data.writableEnded && !data.destroyed) data.end();
    if (!error.writableEnded && !error.destroyed) error.end();
  }

  private async serveWebSocket(req: http.IncomingMessage, socket: Socket, pending: PendingRequest, log: Logger): Promise<void> {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || req.headers['sec-websocket-version'] !== '13') return refuse(socket, 400, 'bad WebSocket handshake');
    if (pending.kind === 'portforward') return refuse(socket, 400, 'port-forward is served over SPDY/3.1 only');
    const offered = headerList(req, 'sec-websocket-protocol');
    const protocol = offered.length === 0 ? 'channel.k8s.io' : negotiate(offered, WS_PROTOCOLS);
    if (protocol === undefined) return refuse(socket, 400, `unsupported WebSocket protocols [${offered.join(', ')}]: want one of [${WS_PROTOCOLS.join(', ')}]`);
    const named = offered.length === 0 ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${named}\r\n`);
    const base64 = protocol === 'base64.channel.k8s.io';
    // base64.channel.k8s.io carries channel.k8s.io's frames as text: a channel digit, then base64.
    const statusProtocol = base64 ? 'channel.k8s.io' : protocol;
    const request = pending.request;
    const stdin = request.stdin ? new Inbox(64 << 10) : undefined;
    const resize = request.tty ? new ResizeDecoder(log) : undefined;
    const ws: WsConnection = new WsConnection(socket, {
      onMessage: async (data, binary) => {
        const raw = binary || !base64 ? data : Buffer.from(data.toString('latin1'), 'latin1');
        if (raw.length === 0) return;
        const channel = base64 ? (raw[0] as number) - 0x30 : (raw[0] as number);
        const body = base64 ? Buffer.from(raw.subarray(1).toString('latin1'), 'base64') : raw.subarray(1);
        if (channel === WsChannel.stdin) await stdin?.deliver(body);
        else if (channel === WsChannel.resize) resize?.message(body.toString('utf8'));
        else if (channel === WsChannel.close && protocol === 'v5.channel.k8s.io' && body[0] === WsChannel.stdin) stdin?.finish();
      },
    });
    const send = (channel: number, data: Buffer): Promise<void> =>
      base64 ? ws.send(Opcode.text, Buffer.from(`${channel}${data.toString('base64')}`)) : ws.send(Opcode.binary, Buffer.concat([Buffer.of(channel), data]));
    const output = (channel: number): Writable => {
      const w = new Writable({
        write: (chunk: Buffer, _enc, callback) => {
          send(channel, chunk).then(() => callback(), callback);
        },
      });
      // A client gone mid-session fails writes; the session ends by the socket's close, not by an unhandled 'error'.
      w.on('error', () => undefined);
      return w;
    };
    // The client closing the socket ends stdin: v4 and earlier have no other way to say so.
    const closed = ws.serve().finally(() => stdin?.finish());
    const channels: SessionChannels = {
      stdin,
      resize,
      stdout: request.stdout ? output(WsChannel.stdout) : undefined,
      stderr: request.stderr && !request.tty ? output(WsChannel.stderr) : undefined,
    };
    const outcome: Outcome = await runRemoteCommand(this.opts.backend, pending, channels, request.tty, log);
    const message = statusMessage(outcome, statusProtocol);
    if (message !== '' || statusIsJson(statusProtocol)) await send(WsChannel.error, Buffer.from(message)).catch(() => undefined);
    await ws.close(1000, '');
    await this.linger(socket, closed, async () => undefined);
  }

  /** Gives the client a moment to read the end and hang up; then hangs up on it. */
  private async linger(socket: Socket, closed: Promise<void>, end: () => Promise<void>): Promise<void> {
    const timer = setTimeout(() => {
      void end().finally(() => setTimeout(() => socket.destroy(), LINGER_MS).unref());
    }, LINGER_MS);
    await closed;
    clearTimeout(timer);
  }
}
