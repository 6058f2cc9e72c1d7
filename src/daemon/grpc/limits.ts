import type http2 from 'node:http2';

const MiB = 1024 * 1024;

/**
 * What one client may make the daemon hold, the same for every listener (docs/design.md,
 * "Limits on what the daemon reads and buffers").
 */
export const GRPC_LIMITS = {
  /** gRPC's default; the largest real request, a create with 1 MiB of environment, fits. */
  maxMessageBytes: 4 * MiB,
  /** Calls at once on one connection: the HTTP/2 RFC's recommended minimum. */
  maxConcurrentStreams: 100,
  /** Unsent response bytes one call may hold: a reading client stays far below. */
  maxCallBacklogBytes: 8 * MiB,
  /** Request and response bytes held by all calls together. */
  maxBufferedBytes: 64 * MiB,
  /** A connection with no call for this long is closed. */
  idleTimeoutMs: 120_000,
  /** A unary or server-streaming request (a few KiB) must arrive in full within this. */
  requestTimeoutMs: 60_000,
  /** A call ended for a client that does not read has this long to take its status. */
  dropGraceMs: 30_000,
  /**
   * Node's own cap on a connection's memory (MB), which counts received data until it is
   * garbage-collected and resets streams past it (ENHANCE_YOUR_CALM, no gRPC status): above
   * ours, so that ours answer first, and it only backs them up.
   */
  maxSessionMemoryMb: 256,
};

/** The options of every HTTP/2 listener of the daemon. */
export function serverOptions(): http2.ServerOptions {
  return {
    maxSessionMemory: GRPC_LIMITS.maxSessionMemoryMb,
    settings: { maxConcurrentStreams: GRPC_LIMITS.maxConcurrentStreams },
  };
}

/**
 * Closes `session` once it has had no call for `idleMs`.
 *
 * Our own timer, not `session.setTimeout`: Node 20 does not clear a session's timeout when the
 * session is destroyed, and the pending timer keeps the closed session (its socket, streams,
 * listeners) alive until it fires; with a 120 s timeout every `isula` call of the last two
 * minutes stayed in memory (docs/design.md, "Daemon memory over a soak").
 */
export function closeWhenIdle(session: http2.ServerHttp2Session, idleMs = GRPC_LIMITS.idleTimeoutMs): void {
  let calls = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => session.close(), idleMs);
    timer.unref();
  };
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    // A quiet `logs -f` or `events` is a call: only a connection without one is idle.
    if (calls++ === 0) clearTimeout(timer);
    stream.once('close', () => {
      if (--calls === 0 && !session.destroyed) arm();
    });
  });
  session.once('close', () => clearTimeout(timer));
  arm();
}

/** Bytes held by all calls together, against GRPC_LIMITS.maxBufferedBytes. */
export class BufferBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Changes the bytes held by `delta`; false once the total is past the limit. */
  adjust(delta: number): boolean {
    this.used += delta;
    return this.used <= this.limit;
  }

  get held(): number {
    return this.used;
  }
}

export const buffered = new BufferBudget(GRPC_LIMITS.maxBufferedBytes);
