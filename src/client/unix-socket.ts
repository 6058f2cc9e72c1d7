import type net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { BunUnixSocket } from './bun-socket.js';
import type { SessionSocket } from './h2/session.js';

/**
 * The client's connection to a unix socket, straight on libuv's pipe handle, the one node:net
 * wraps. node:net brings in the whole of node:stream, 5 ms of a 45 ms `isula` call; the client
 * needs only bytes in and out. The handle is Node's internal interface, reached through
 * process.binding (deprecated, DEP0111): the executable carries its own Node, but a Node that
 * drops or changes the binding must not break the client, so its shape is checked first and
 * node:net, loaded only then, takes over. Under Bun, which has no such binding, Bun's own
 * socket (bun-socket.ts).
 */

interface Req {
  oncomplete: (status: number) => void;
}
interface WriteReq extends Req {
  handle: PipeHandle;
}
interface PipeHandle {
  onread: (buffer: ArrayBuffer | undefined) => void;
  connect(req: Req, path: string): number;
  readStart(): number;
  writeBuffer(req: WriteReq, data: Buffer): number;
  shutdown(req: WriteReq): number;
  close(done?: () => void): void;
}
interface PipeBinding {
  Pipe: new (type: number) => PipeHandle;
  PipeConnectWrap: new () => Req;
  constants: { SOCKET: number };
}
interface StreamBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kLastWriteWasAsync: number;
}

/** The two bindings the pipe handle needs. */
export interface Libuv {
  pipes: PipeBinding;
  streams: StreamBinding;
}

/** `binding` is process.binding; null when it is gone, throws, or gives what this file does not know. */
export function libuvBindings(binding: unknown): Libuv | null {
  if (typeof binding !== 'function') return null;
  try {
    const pipes = binding('pipe_wrap') as Partial<PipeBinding> | undefined;
    const streams = binding('stream_wrap') as Partial<StreamBinding> | undefined;
    const ok =
      typeof pipes?.Pipe === 'function' &&
      typeof pipes.PipeConnectWrap === 'function' &&
      typeof pipes.constants?.SOCKET === 'number' &&
      typeof streams?.WriteWrap === 'function' &&
      typeof streams.ShutdownWrap === 'function' &&
      streams.streamBaseState instanceof Int32Array &&
      typeof streams.kReadBytesOrError === 'number' &&
      typeof streams.kArrayBufferOffset === 'number' &&
      typeof streams.kLastWriteWasAsync === 'number';
    return ok ? { pipes: pipes as PipeBinding, streams: streams as StreamBinding } : null;
  } catch {
    return null;
  }
}

const LIBUV = process.versions.bun ? null : libuvBindings((process as { binding?: unknown }).binding);
const UV_EOF = -4095;

/**
 * Connects at once to the socket at `path`; writes made before the connection is up go out when
 * it is. `libuv` is for tests, which pass null to take the node:net path.
 */
export function connectUnix(path: string, libuv: Libuv | null = LIBUV): SessionSocket {
  if (process.versions.bun) return new BunUnixSocket(path);
  if (libuv) {
    try {
      return new UnixSocket(path, libuv);
    } catch {
      // A pipe handle that no longer takes these calls: node:net below.
    }
  }
  return (process.getBuiltinModule('node:net') as typeof net).connect({ path });
}

/** An error named like node:net's: `code` is the errno name (ENOENT, ECONNREFUSED, ...). */
function uvError(status: number, what: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`${what} ${code}`), { code, errno: status });
}

type Listeners = { data: (chunk: Buffer) => void; error: (e: Error) => void; close: () => void };

/** The connection on libuv's pipe handle (see connectUnix). */
export class UnixSocket {
  private readonly handle: PipeHandle;
  private readonly listeners: Partial<Listeners> = {};
  private pending: Buffer[] | undefined = [];
  private endAfterPending: (() => void) | undefined;
  /** Requests in flight, kept referenced until libuv completes them. */
  private readonly requests = new Set<Req>();
  private closed = false;
  writable = true;

  constructor(
    path: string,
    private readonly uv: Libuv,
  ) {
    this.handle = new uv.pipes.Pipe(uv.pipes.constants.SOCKET);
    this.handle.onread = (buffer) => this.onRead(buffer);
    const req = this.request(new uv.pipes.PipeConnectWrap(), (status) => this.onConnect(status));
    const err = this.handle.connect(req, path);
    if (err < 0) queueMicrotask(() => this.fail(uvError(err, 'connect')));
  }

  on<E extends keyof Listeners>(event: E, listener: Listeners[E]): this {
    this.listeners[event] = listener as Partial<Listeners>[E];
    return this;
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    if (this.pending) this.pending.push(bytes);
    else this.writeNow(bytes);
  }

  /** Half-closes once everything written has gone, then calls `done`. */
  end(done?: () => void): void {
    this.writable = false;
    if (this.pending) {
      this.endAfterPending = () => this.end(done);
      return;
    }
    if (this.closed) return;
    const req = this.request(new this.uv.streams.ShutdownWrap(), () => done?.());
    req.handle = this.handle;
    if (this.handle.shutdown(req) < 0) done?.();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.writable = false;
    this.handle.close(() => this.listeners.close?.());
  }

  private request<R extends Req>(req: R, done: (status: number) => void): R {
    this.requests.add(req);
    req.oncomplete = (status) => {
      this.requests.delete(req);
      done(status);
    };
    return req;
  }

  private onConnect(status: number): void {
    if (status < 0) return this.fail(uvError(status, 'connect'));
    const queued = this.pending ?? [];
    this.pending = undefined;
    const err = this.handle.readStart();
    if (err < 0) return this.fail(uvError(err, 'read'));
    if (queued.length > 0) this.writeNow(Buffer.concat(queued));
    this.endAfterPending?.();
  }

  private writeNow(bytes: Buffer): void {
    const streams = this.uv.streams;
    const req = this.request(new streams.WriteWrap(), (status) => {
      if (status < 0) this.fail(uvError(status, 'write'));
    });
    req.handle = this.handle;
    const err = this.handle.writeBuffer(req, bytes);
    if (err < 0) return this.fail(uvError(err, 'write'));
    // Written at once: libuv will not call back.
    if (streams.streamBaseState[streams.kLastWriteWasAsync] === 0) this.requests.delete(req);
  }

  private onRead(buffer: ArrayBuffer | undefined): void {
    const streams = this.uv.streams;
    const state = streams.streamBaseState;
    const n = state[streams.kReadBytesOrError]!;
    if (n > 0 && buffer) this.listeners.data?.(Buffer.from(buffer, state[streams.kArrayBufferOffset], n));
    else if (n === UV_EOF) this.destroy();
    else if (n < 0) this.fail(uvError(n, 'read'));
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.listeners.error?.(error);
    this.destroy();
  }
}
