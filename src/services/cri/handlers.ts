import type { DescMethod, DescMethodUnary, MessageInitShape, MessageShape } from '@bufbuild/protobuf';

/** A unary CRI method: the decoded request in, the response (a message or its init shape) out. */
export type CriUnaryHandler<M extends DescMethodUnary> = (request: MessageShape<M['input']>) => Promise<MessageInitShape<M['output']>>;

/** One implemented CRI method; the server answers every other one with UNIMPLEMENTED. */
export interface CriHandler {
  method: DescMethod;
  handler: (request: unknown) => Promise<unknown>;
}

export function criUnary<M extends DescMethodUnary>(method: M, handler: CriUnaryHandler<M>): CriHandler {
  return { method, handler: handler as (request: unknown) => Promise<unknown> };
}
