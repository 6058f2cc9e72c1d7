import type { OutputChunk } from '../api/containers.js';
import { generalError } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { readLogEntries } from './logs/json-file.js';
import { logLimits } from './start.js';

/**
 * `isula logs [-f] [--tail N]`: what the json-file log holds, then (with -f) the live
 * output until the container stops or `cancelled` resolves.
 */
export async function streamLogs(
  ctx: EngineContext,
  c: Container,
  opts: { follow: boolean; tail: number },
  send: (chunk: OutputChunk) => void,
  cancelled: Promise<void>,
): Promise<void> {
  if (c.record.host.LogConfig.Config['disable-log'] === 'true') throw generalError('disable console log');
  // Subscribe before reading the file, so nothing falls between the two.
  const live: OutputChunk[] = [];
  let replaying = true;
  const unsubscribe =
    opts.follow && c.pump
      ? c.pump.subscribe((chunk) => (replaying ? live.push(chunk) : send(chunk)))
      : undefined;
  let entries = readLogEntries(c.record.config.LogPath, logLimits(c, ctx).maxFiles);
  if (opts.tail >= 0) entries = opts.tail === 0 ? [] : entries.slice(-opts.tail);
  for (const e of entries) send({ stream: e.stream === 'stdout' ? 1 : 2, data: Buffer.from(e.log), time: e.time });
  if (!unsubscribe) return;
  // Chunks read while replaying may already be in the file; the file is newer, so keep those only if after it.
  const lastTime = entries.at(-1)?.time ?? '';
  for (const chunk of live) if ((chunk.time ?? '') > lastTime) send(chunk);
  replaying = false;
  try {
    await Promise.race([c.waitFinished(), cancelled]);
  } finally {
    unsubscribe();
  }
}
