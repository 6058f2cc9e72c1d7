import { getSystemErrorName } from 'node:util';

/**
 * A unix-socket connection straight on libuv's pipe handle, the one node:net wraps. node:net
 * brings in the whole of node:stream, 5 ms of a 45 ms `isula` call; the client needs only
 * bytes in and out. The handle's interface is Node's own (pinned: the executable carries
 * its Node), reached through process.binding, which Node keeps for such uses.
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

const binding = (process as unknown as { binding(name: string): unknown }).binding;
const pipes = binding('pipe_wrap') as PipeBinding;
const streams = binding('stream_wrap') as StreamBinding;
const UV_EOF = -4095;

/** An error named like node:net's: `code` is the errno name (ENOENT, ECONNREFUSED, ...). */
function uvError(status: number, what: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`${what} ${code}`), { code, errno: status });
}

type Listeners = { data: (chunk: Buffer) => void; error: (e: Error) => void; close: () => void };

/** Connects at once; writes made before the connection is up go out when it is. */
export class UnixSocket {
  private readonly handle = new pipes.Pipe(pipes.constants.SOCKET);
  private readonly listeners: Partial<Listeners> = {};
  private pending: Buffer[] | undefined = [];
  private endAfterPending: (() => void) | undefined;
  /** Requests in flight, kept referenced until libuv completes them. */
  private readonly requests = new Set<Req>();
  private closed = false;
  writable = true;

  constructor(path: string) {
    this.handle.onread = (buffer) => this.onRead(buffer);
    const req = this.request(new pipes.PipeConnectWrap(), (status) => this.onConnect(status));
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
    const req = this.request(new streams.ShutdownWrap(), () => done?.());
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
