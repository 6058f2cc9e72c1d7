import type { MethodName, Req, Res, StreamMethod, UnaryMethod } from '../api/rpc.js';

/** What a streaming handler sees of its call. */
export interface StreamCall<M extends MethodName> {
  /** Sends a response; a client that lets too much pile up unread has its call ended. */
  write(message: Res<M>): void;
  /** Resolves once what was written has gone out: a long replay awaits it between writes. */
  drained(): Promise<void>;
  /**
   * Further requests of a bidirectional call. A listener whose destination is full returns a
   * promise that settles once it has room: no more requests are read until then.
   */
  onMessage(listener: (message: Req<M>) => void | Promise<void>): void;
  /** The client went away or cancelled. */
  onCancel(listener: () => void): void;
  readonly cancelled: boolean;
  /**
   * Resolves once the call's answer, its status included, has been written (or the call is
   * over some other way): work that only follows an answer waits for it instead of running
   * between the answer's message and its status.
   */
  answered(): Promise<void>;
}

export type UnaryHandler<M extends UnaryMethod> = (request: Req<M>) => Promise<Res<M>>;
export type StreamHandler<M extends StreamMethod> = (request: Req<M>, call: StreamCall<M>) => Promise<void>;

export type HandlerTable = { [M in UnaryMethod]: UnaryHandler<M> } & { [M in StreamMethod]: StreamHandler<M> };
