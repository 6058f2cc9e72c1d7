import type { OutputChunk } from '../api/containers.js';

/** Writes container output to our stdout/stderr as it arrives; returns the exit code once it comes. */
export function outputWriter(): { write(chunk: OutputChunk): void; exitCode(): number | undefined } {
  let exit: number | undefined;
  return {
    write(chunk) {
      if (chunk.exitCode !== undefined) exit = chunk.exitCode;
      if (!chunk.data) return;
      (chunk.stream === 2 ? process.stderr : process.stdout).write(Buffer.from(chunk.data));
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
