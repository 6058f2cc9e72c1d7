import { decodeCbor, encodeCbor } from './cbor.js';

/** CBOR codec of the engine's own services; plain maps so any CBOR peer can read them. */
export function encodeMessage(value: unknown): Buffer {
  return encodeCbor(value ?? {});
}

export function decodeMessage<T>(bytes: Uint8Array): T {
  if (bytes.length === 0) return {} as T;
  return decodeCbor(bytes) as T;
}

/** Metadata key that carries an EngineError's exit code next to grpc-status. */
export const EXIT_CODE_TRAILER = 'isula-exit-code';
