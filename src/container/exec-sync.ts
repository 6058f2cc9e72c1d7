import { deadlineExceeded, resourceExhausted } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { execInContainer } from './exec.js';

/** CRI's message limit is 16 MiB: output beyond this could not be answered anyway. */
export const EXEC_SYNC_MAX_OUTPUT = 16 * 1024 * 1024 - 64 * 1024;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/**
 * A process run to its end with its output collected (CRI's ExecSync, kubelet's exec probes):
 * killed after `timeoutSec` (0: no limit) with DeadlineExceeded, or when the output passes
 * the limit, or when `signal` aborts (the client went away).
 */
export async function execSync(ctx: EngineContext, c: Container, cmd: string[], timeoutSec: number, signal: AbortSignal): Promise<ExecSyncResult> {
  const proc = execInContainer(ctx, c, { id: c.id, cmd, env: [], tty: false, stdin: false, detach: false });
  const chunks: [Buffer[], Buffer[]] = [[], []];
  let size = 0;
  let failure: Error | undefined;
  const stop = (why: Error): void => {
    failure ??= why;
    proc.kill();
  };
  const drained = [proc.stdout, proc.stderr].map(
    (s, i) =>
      new Promise<void>((resolve) => {
        if (!s) return resolve();
        s.on('data', (data: Buffer) => {
          size += data.length;
          if (size > EXEC_SYNC_MAX_OUTPUT) return stop(resourceExhausted(`exec output is larger than ${EXEC_SYNC_MAX_OUTPUT} bytes`));
          chunks[i as 0 | 1].push(data);
        });
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      }),
  );
  const timer =
    timeoutSec > 0
      ? setTimeout(() => stop(deadlineExceeded(`command ${JSON.stringify(cmd.join(' '))} timed out after ${timeoutSec}s`)), timeoutSec * 1000)
      : undefined;
  const onAbort = (): void => stop(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exitCode = await proc.exited;
    await Promise.all(drained);
    if (failure) throw failure;
    const why = proc.startError();
    const stderr = Buffer.concat(chunks[1]);
    return { stdout: Buffer.concat(chunks[0]), stderr: why ? Buffer.concat([stderr, Buffer.from(`${why}\n`)]) : stderr, exitCode };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
