import { Status } from './grpc-status.js';

/**
 * Exit codes of iSulad's client (src/utils/cutils/utils.h), carried from the place a fault
 * is known to the client process's exit status.
 */
export const ExitCode = {
  general: 1,
  imageBusy: 2,
  nameConflict: 3,
  imageNotFound: 20,
  invalidArgs: 125,
  serverError: 125,
  /** `run`/`start -a`: the container's command could not be invoked, or was not found. */
  commandNotExecutable: 126,
  commandNotFound: 127,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const knownCodes: ReadonlySet<number> = new Set(Object.values(ExitCode));

export function isExitCode(n: number): n is ExitCodeValue {
  return knownCodes.has(n);
}

/**
 * What kind of fault an error is (containerd's errdefs, gRPC's status codes): the daemon
 * answers with its gRPC status, and a client (isula, or the CRI later) can act on it.
 */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Unimplemented'
  | 'Internal'
  | 'Unknown';

/**
 * Each kind's iSulad client exit code and gRPC status code: the one place they are mapped.
 * An error may carry a more specific exit code of iSulad's than its kind's (an image not
 * found exits 20, an image in use 2), sent next to the status.
 */
export const ERROR_KINDS: Readonly<Record<ErrorKind, { exitCode: ExitCodeValue; grpcStatus: number }>> = {
  NotFound: { exitCode: ExitCode.general, grpcStatus: Status.NOT_FOUND },
  AlreadyExists: { exitCode: ExitCode.nameConflict, grpcStatus: Status.ALREADY_EXISTS },
  InvalidArgument: { exitCode: ExitCode.invalidArgs, grpcStatus: Status.INVALID_ARGUMENT },
  FailedPrecondition: { exitCode: ExitCode.general, grpcStatus: Status.FAILED_PRECONDITION },
  ResourceExhausted: { exitCode: ExitCode.general, grpcStatus: Status.RESOURCE_EXHAUSTED },
  DeadlineExceeded: { exitCode: ExitCode.general, grpcStatus: Status.DEADLINE_EXCEEDED },
  Unimplemented: { exitCode: ExitCode.general, grpcStatus: Status.UNIMPLEMENTED },
  /** A fault of the engine itself (anything thrown that is not an EngineError). */
  Internal: { exitCode: ExitCode.serverError, grpcStatus: Status.INTERNAL },
  Unknown: { exitCode: ExitCode.general, grpcStatus: Status.UNKNOWN },
};

const kindByStatus: ReadonlyMap<number, ErrorKind> = new Map(Object.entries(ERROR_KINDS).map(([kind, { grpcStatus }]) => [grpcStatus, kind as ErrorKind]));

/** The kind a gRPC status code stands for; Unknown for a code no kind maps to. */
export function kindOfStatus(code: number): ErrorKind {
  return kindByStatus.get(code) ?? 'Unknown';
}

/** The one error type of the engine: a user-facing message, its kind, and the exit code it maps to. */
export class EngineError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly kind: ErrorKind;
  constructor(exitCode: ExitCodeValue, message: string, kind: ErrorKind = 'Unknown') {
    super(message);
    this.name = 'EngineError';
    this.exitCode = exitCode;
    this.kind = kind;
  }
}

/** An error of `kind`, with the kind's exit code unless iSulad's client exits otherwise for this fault. */
export const fault = (kind: ErrorKind, message: string, exitCode: ExitCodeValue = ERROR_KINDS[kind].exitCode): EngineError =>
  new EngineError(exitCode, message, kind);

export const generalError = (message: string): EngineError => fault('Unknown', message);
export const invalidArgs = (message: string): EngineError => fault('InvalidArgument', message);
export const nameConflict = (message: string): EngineError => fault('AlreadyExists', message);
export const notFound = (message: string): EngineError => fault('NotFound', message);
export const imageNotFound = (message: string): EngineError => fault('NotFound', message, ExitCode.imageNotFound);
export const imageBusy = (message: string): EngineError => fault('FailedPrecondition', message, ExitCode.imageBusy);
/** The container's (or host's) state refuses the operation now: not running, paused, in GC. */
export const failedPrecondition = (message: string): EngineError => fault('FailedPrecondition', message);
export const resourceExhausted = (message: string): EngineError => fault('ResourceExhausted', message);
export const deadlineExceeded = (message: string): EngineError => fault('DeadlineExceeded', message);
/** What this engine does not do (yet). */
export const unimplemented = (message: string): EngineError => fault('Unimplemented', message);

/** Turns anything thrown into an EngineError; unexpected faults become server errors. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return fault('Internal', message);
}
