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

/** The one error type of the engine: a user-facing message and the exit code it maps to. */
export class EngineError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(exitCode: ExitCodeValue, message: string) {
    super(message);
    this.name = 'EngineError';
    this.exitCode = exitCode;
  }
}

export const generalError = (message: string): EngineError => new EngineError(ExitCode.general, message);
export const invalidArgs = (message: string): EngineError => new EngineError(ExitCode.invalidArgs, message);
export const nameConflict = (message: string): EngineError => new EngineError(ExitCode.nameConflict, message);
export const imageNotFound = (message: string): EngineError => new EngineError(ExitCode.imageNotFound, message);
export const imageBusy = (message: string): EngineError => new EngineError(ExitCode.imageBusy, message);

/** Turns anything thrown into an EngineError; unexpected faults become server errors. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(ExitCode.serverError, message);
}
