import type { ExecRequest, OutputChunk } from '../api/containers.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { execInContainer } from './exec.js';
import { type StreamSink, writeInput } from './stream-sink.js';

/**
 * `isula exec` without -d: the process's output to the client, the client's input and
 * terminal size to the process, and its exit code as the last message. The process is
 * killed when the client goes away.
 */
export async function streamExec(ctx: EngineContext, c: Container, req: ExecRequest, sink: StreamSink<OutputChunk, ExecRequest>): Promise<void> {
  const proc = execInContainer(ctx, c, req);
  if (req.detach) return;
  sink.onMessage((m) => {
    const full = m.input && proc.stdin ? writeInput(proc.stdin, m.input) : undefined;
    if (m.eof) proc.stdin?.end();
    if (m.resize) proc.resize(m.resize.rows, m.resize.cols);
    return full;
  });
  sink.onCancel(() => proc.kill());
  const drained = [proc.stdout, proc.stderr].map(
    (s, i) =>
      new Promise<void>((resolve) => {
        if (!s) return resolve();
        // The exec's pipes are this client's alone: a client that reads slowly slows the
        // process, as a pipe would, instead of having its output pile up here.
        s.on('data', (data: Buffer) => {
          sink.write({ stream: (i + 1) as 1 | 2, data });
          s.pause();
          void sink.drained().then(() => s.resume());
        });
        s.on('close', () => resolve());
      }),
  );
  const code = await proc.exited;
  await Promise.all(drained);
  const why = proc.startError();
  if (why) sink.write({ stream: 2, data: Buffer.from(`${why}\n`) });
  sink.write({ exitCode: code });
}
