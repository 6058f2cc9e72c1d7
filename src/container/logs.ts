import type { OutputChunk } from '../api/containers.js';
import { failedPrecondition, resourceExhausted } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { parseCriLine } from './logs/cri-file.js';
import { readLogEntries } from './logs/json-file.js';
import { logLimits } from './logs/limits.js';

/** Live output held for a client while it still reads the file: as much as a call may leave unsent. */
export const REPLAY_BACKLOG_BYTES = 8 * 1024 * 1024;

/** Where a log goes: `drained` resolves once the client has taken what was written. */
export interface LogSink {
  write(chunk: OutputChunk): void;
  drained(): Promise<void>;
}

/**
 * `isula logs [-f] [--tail N]`: what the json-file log holds, then (with -f) the live
 * output until the container stops or `cancelled` resolves. The file goes out at the pace
 * the client reads it.
 */
export async function streamLogs(
  ctx: EngineContext,
  c: Container,
  opts: { follow: boolean; tail: number },
  out: LogSink,
  cancelled: Promise<void>,
): Promise<void> {
  if (c.record.host.LogConfig.Config['disable-log'] === 'true') throw failedPrecondition('disable console log');
  // Subscribe before reading the file, so nothing falls between the two.
  const live: OutputChunk[] = [];
  let liveBytes = 0;
  let replaying = true;
  const unsubscribe =
    opts.follow && c.pump
      ? c.pump.subscribe((chunk) => {
          if (!replaying) return out.write(chunk);
          liveBytes += chunk.data?.length ?? 0;
          if (liveBytes <= REPLAY_BACKLOG_BYTES) live.push(chunk);
        })
      : undefined;
  let gone = false;
  void cancelled.then(() => (gone = true));
  try {
    // Chunks read while replaying may already be in the file; the file is newer, so keep those only if after it.
    let lastTime = '';
    // A CRI container's log is in Kubernetes' format at the path kubelet gave.
    const parse = c.record.host.LogConfig.Type === 'cri' ? parseCriLine : undefined;
    for await (const e of readLogEntries(c.record.config.LogPath, logLimits(c, ctx.defaults).maxFiles, opts.tail, parse)) {
      if (gone) return;
      out.write({ stream: e.stream === 'stdout' ? 1 : 2, data: Buffer.from(e.log), time: e.time });
      lastTime = e.time;
      await out.drained();
    }
    if (!unsubscribe || gone) return;
    if (liveBytes > REPLAY_BACKLOG_BYTES) {
      throw resourceExhausted(
        `the client reads the log slower than the container writes it: more than ${REPLAY_BACKLOG_BYTES / 1024 / 1024} MiB of output waited; output dropped`,
      );
    }
    for (const chunk of live) if ((chunk.time ?? '') > lastTime) out.write(chunk);
    live.length = 0;
    replaying = false;
    await Promise.race([c.waitFinished(), cancelled]);
  } finally {
    unsubscribe?.();
  }
}
