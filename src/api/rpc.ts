import type { InfoRequest, InfoResponse, VersionRequest, VersionResponse } from './system.js';

/**
 * The wire contract: every method the daemon serves, its shape, and its message types.
 * A method `Svc/Name` travels as the gRPC path `/isulad.Svc/Name`.
 */
export const methodKinds = {
  'SystemService/Version': 'unary',
  'SystemService/Info': 'unary',
} as const;

export type MethodName = keyof typeof methodKinds;
export type MethodKind = (typeof methodKinds)[MethodName];

export interface MethodTypes {
  'SystemService/Version': { req: VersionRequest; res: VersionResponse };
  'SystemService/Info': { req: InfoRequest; res: InfoResponse };
}

type MethodsOfKind<K extends MethodKind> = {
  [M in MethodName]: (typeof methodKinds)[M] extends K ? M : never;
}[MethodName];

export type UnaryMethod = MethodsOfKind<'unary'>;
export type StreamMethod = Exclude<MethodName, UnaryMethod>;
export type Req<M extends MethodName> = MethodTypes[M]['req'];
export type Res<M extends MethodName> = MethodTypes[M]['res'];

export const GRPC_PACKAGE = 'isulad';

export function grpcPath(method: MethodName): string {
  return `/${GRPC_PACKAGE}.${method}`;
}
