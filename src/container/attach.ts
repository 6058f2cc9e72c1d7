import { PassThrough } from 'node:stream';
import type { AttachRequest, OutputChunk } from '../api/containers.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { startContainer } from './start.js';
import { runtimeOf } from './spec.js';
import { startedOf } from './started.js';
import { requireOperation } from './state.js';
import { type StreamSink, writeInput } from './stream-sink.js';

/**
 * `isula attach`, and `run`/`start -a` with `start`: the container's output to the client,
 * the client's input and terminal size to the container, until it exits (the last message
 * then carries its exit code) or the client goes away.
 */
export async function attachContainer(ctx: EngineContext, c: Container, req: AttachRequest, sink: StreamSink<OutputChunk, AttachRequest>): Promise<void> {
  let stdin = c.stdin;
  const onOutput = (chunk: OutputChunk): void => sink.write(chunk);
  let unsubscribe: (() => void) | undefined;
  if (req.start) {
    stdin = req.stdin && c.record.config.Config.OpenStdin ? new PassThrough() : undefined;
    unsubscribe = await startContainer(ctx, c, { stdin, ttySize: req.resize, onOutput });
  } else {
    requireOperation('attach', c.status, c.id);
    unsubscribe = c.pump?.subscribe(onOutput);
  }
  const input = req.stdin ? stdin : undefined;
  sink.onMessage((m) => {
    const full = m.input && input ? writeInput(input, m.input) : undefined;
    if (m.eof) input?.end();
    if (m.resize && c.state.Running)
      void runtimeOf(ctx.runtimes, c)
        .resize(startedOf(c), m.resize.rows, m.resize.cols)
        .catch(() => undefined);
    return full;
  });
  try {
    const cancelled = new Promise<undefined>((resolve) => sink.onCancel(() => resolve(undefined)));
    const code = await Promise.race([c.waitFinished(), cancelled]);
    if (code !== undefined) sink.write({ exitCode: code });
  } finally {
    unsubscribe?.();
  }
}
