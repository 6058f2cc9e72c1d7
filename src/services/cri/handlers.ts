import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DescMethod, DescMethodUnary, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { generalError } from '../../api/errors.js';

/** What a CRI handler knows of its call: a signal aborted when the client goes away or its deadline passes. */
export interface CriCallContext {
  signal: AbortSignal;
  /** Resolves once the answer, status included, is written (or the call ended otherwise). */
  answered(): Promise<void>;
}

/** A unary CRI method: the decoded request in, the response (a message or its init shape) out. */
export type CriUnaryHandler<M extends DescMethodUnary> = (request: MessageShape<M['input']>, call: CriCallContext) => Promise<MessageInitShape<M['output']>>;

/** The server's view of a call, as the dispatcher hands it to every handler. */
interface ServerCallView {
  onCancel(listener: () => void): void;
  readonly cancelled: boolean;
  answered(): Promise<void>;
}

/** One implemented CRI method; the server answers every other one with UNIMPLEMENTED. */
export interface CriHandler {
  method: DescMethod;
  handler: (request: unknown, call?: ServerCallView) => Promise<unknown>;
}

function callContext(call: ServerCallView | undefined): CriCallContext {
  const controller = new AbortController();
  const cancel = (): void => controller.abort(generalError('the call was cancelled by its client or its deadline passed'));
  if (call?.cancelled) cancel();
  else call?.onCancel(cancel);
  return { signal: controller.signal, answered: () => call?.answered() ?? nextTurn() };
}

export function criUnary<M extends DescMethodUnary>(method: M, handler: CriUnaryHandler<M>): CriHandler {
  return { method, handler: (request, call) => handler(request as MessageShape<M['input']>, callContext(call)) };
}
