import { ExitCode, type ExitCodeValue } from '../api/errors.js';
import { DaemonError, type Transport } from '../client/transport.js';
import { onResize, rawMode, terminalSize, type TerminalSize } from './terminal.js';
import type { OutputChunk } from '../api/containers.js';
import { writeErr, writeOut } from './stdio.js';

/** Writes container output to our stdout/stderr as it arrives; returns the exit code once it comes. */
export function outputWriter(): { write(chunk: OutputChunk): void; exitCode(): number | undefined } {
  let exit: number | undefined;
  return {
    write(chunk) {
      if (chunk.exitCode !== undefined) exit = chunk.exitCode;
      if (!chunk.data) return;
      (chunk.stream === 2 ? writeErr : writeOut)(chunk.data);
    },
    exitCode: () => exit,
  };
}

/** Forwards our stdin to a call until it ends; the call gets `eof` then. */
export function forwardStdin(send: (m: { input?: Uint8Array; eof?: boolean }) => void): () => void {
  const onData = (d: Buffer): void => send({ input: d });
  const onEnd = (): void => send({ eof: true });
  process.stdin.on('data', onData);
  process.stdin.once('end', onEnd);
  return () => {
    process.stdin.off('data', onData);
    process.stdin.off('end', onEnd);
    process.stdin.pause();
  };
}

/**
 * Attaches to a container's output (and stdin with -i), starts it, and relays until it
 * exits: `run` without -d and `start -a`. Returns the container's exit code.
 */
export async function attachAndStart(client: Transport, id: string, stdin: boolean, tty: boolean): Promise<number> {
  const out = outputWriter();
  const size = tty ? terminalSize() : undefined;
  const { done, handle } = client.stream('ContainerService/Attach', { id, start: true, stdin, ...(size ? { resize: size } : {}) }, out.write, true);
  try {
    await relay(done, (m) => handle.send({ id, ...m }), stdin, tty);
  } catch (e) {
    throw e instanceof DaemonError ? new DaemonError(startFailureCode(e.message) ?? e.exitCode, e.message) : e;
  }
  return out.exitCode() ?? 125;
}

/**
 * A command that cannot start exits as a shell's would: 127 not found, 126 not executable,
 * told apart by the error's wording as iSulad's client (util_contain_errmsg) and Docker's do.
 */
export function startFailureCode(message: string): ExitCodeValue | undefined {
  if (/executable file not found|no such file or directory|not a directory/i.test(message)) return ExitCode.commandNotFound;
  if (/permission denied/i.test(message)) return ExitCode.commandNotExecutable;
  return undefined;
}

type Input = { input?: Uint8Array; eof?: boolean; resize?: TerminalSize };

/**
 * While a call runs: our stdin goes to it (with -i), our terminal is raw (with -i -t), and
 * size changes follow (with -t); all undone when the call ends.
 */
export async function relay(done: Promise<void>, send: (m: Input) => void, stdin: boolean, tty: boolean): Promise<void> {
  const restoreMode = tty && stdin ? rawMode() : () => undefined;
  const stopResize = tty ? onResize((resize) => send({ resize })) : () => undefined;
  const stopStdin = stdin ? forwardStdin(send) : undefined;
  try {
    await done;
  } finally {
    stopStdin?.();
    stopResize();
    restoreMode();
  }
}
