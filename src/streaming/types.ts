import type { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';

/** A terminal size, as the resize channel carries it. */
export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * One session's standard streams, as the client asked for them. `stdout` and `stderr` honour
 * backpressure (a write that returns false is waited on with 'drain'); `stdin` ends when the
 * client half-closes it. `resize` emits 'resize' with a TerminalSize (TTY sessions only).
 */
export interface StreamIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  resize?: EventEmitter;
}

/** What the streaming server runs: the daemon's container domain, or a test's own backend. */
export interface StreamingBackend {
  /** Runs `cmd` in the container with `io`; resolves to its exit code. */
  exec(containerId: string, cmd: string[], io: StreamIo): Promise<number>;
  /** Attaches `io` to the container's main process; resolves when the attach ends. */
  attach(containerId: string, io: StreamIo): Promise<void>;
  /** Joins `conn` to `port` on 127.0.0.1 inside the pod's network namespace; resolves when either side closes. */
  portForward(podId: string, port: number, conn: Duplex): Promise<void>;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachRequest {
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  podId: string;
}
