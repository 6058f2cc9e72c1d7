import { PassThrough, type Writable } from 'node:stream';
import type { AttachRequest, EngineEvent, ExecRequest, OutputChunk } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import type { EngineContext } from '../container/context.js';
import { createContainer } from '../container/create.js';
import { execInContainer } from '../container/exec.js';
import { killContainer } from '../container/kill.js';
import { listContainers } from '../container/list.js';
import { streamLogs } from '../container/logs.js';
import { setPaused } from '../container/pause.js';
import { removeContainer } from '../container/remove.js';
import { renameContainer } from '../container/rename.js';
import { restartContainer } from '../container/restart.js';
import { startContainer } from '../container/start.js';
import { runtimeOf } from '../container/spec.js';
import { startedOf } from '../container/started.js';
import { requireOperation } from '../container/state.js';
import { stopContainer } from '../container/stop.js';
import { topContainer } from '../container/top.js';
import { updateContainer } from '../container/update.js';
import { inspectView } from '../container/view.js';
import type { HandlerTable, StreamCall } from './handlers.js';

type ContainerHandlers = Omit<HandlerTable, 'SystemService/Version' | 'SystemService/Info' | `ImageService/${string}`>;

const cancelledOf = (call: { onCancel(listener: () => void): void }): Promise<void> => new Promise((resolve) => call.onCancel(resolve));

function eventMatches(e: EngineEvent, req: { name?: string; since?: bigint; until?: bigint }): boolean {
  const t = BigInt(e.timeNano);
  if (req.since !== undefined && t < req.since) return false;
  if (req.until !== undefined && t > req.until) return false;
  if (req.name && e.attributes.name !== req.name && !e.id.startsWith(req.name)) return false;
  return true;
}

/**
 * Writes a client's input to a container's stdin; when that is full (the container does not
 * read it), a promise for the room, so the call reads no more input until then.
 */
function writeInput(stdin: Writable, data: Uint8Array): Promise<void> | undefined {
  if (stdin.destroyed || stdin.writableEnded || stdin.write(Buffer.from(data))) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      stdin.off('drain', done).off('close', done);
      resolve();
    };
    stdin.on('drain', done).on('close', done);
  });
}

/** isula's container and event calls: validate, call the container domain, map the result. */
export function containerService(ctx: EngineContext): ContainerHandlers {
  const get = (ref: string) => ctx.store.get(ref);
  return {
    'ContainerService/Create': (req) => createContainer(ctx, req),
    'ContainerService/Start': async (req) => {
      await startContainer(ctx, get(req.id));
      return {};
    },
    'ContainerService/Stop': async (req) => {
      await stopContainer(ctx, get(req.id), req.force ? 0 : req.timeout);
      return {};
    },
    'ContainerService/Kill': async (req) => {
      await killContainer(ctx, get(req.id), req.signal);
      return {};
    },
    'ContainerService/Restart': async (req) => {
      await restartContainer(ctx, get(req.id), req.timeout);
      return {};
    },
    'ContainerService/Pause': async (req) => {
      await setPaused(ctx, get(req.id), true);
      return {};
    },
    'ContainerService/Unpause': async (req) => {
      await setPaused(ctx, get(req.id), false);
      return {};
    },
    'ContainerService/Remove': async (req) => {
      await removeContainer(ctx, get(req.id), req.force);
      return {};
    },
    'ContainerService/List': async (req) => ({ containers: listContainers(ctx.store, req, (id) => ctx.gc.has(id)) }),
    'ContainerService/Inspect': async (req) => {
      const c = get(req.id);
      return { json: JSON.stringify(inspectView(c, ctx.gc.get(c.id))) };
    },
    'ContainerService/Wait': async (req) => ({ exitCode: await get(req.id).waitFinished() }),
    'ContainerService/Rename': async (req) => {
      await renameContainer(ctx, get(req.id), req.newName);
      return {};
    },
    'ContainerService/Update': async (req) => {
      await updateContainer(ctx, get(req.id), req);
      return {};
    },
    'ContainerService/Top': (req) => topContainer(ctx, get(req.id), req.psArgs),
    'ContainerService/Logs': async (req, call) => {
      const out = { write: (chunk: OutputChunk) => call.write(req.timestamps ? chunk : { ...chunk, time: undefined }), drained: () => call.drained() };
      await streamLogs(ctx, get(req.id), { follow: req.follow, tail: req.tail }, out, cancelledOf(call));
    },
    'ContainerService/Attach': async (req: AttachRequest, call: StreamCall<'ContainerService/Attach'>) => {
      const c = get(req.id);
      let stdin = c.stdin;
      const onOutput = (chunk: OutputChunk): void => call.write(chunk);
      let unsubscribe: (() => void) | undefined;
      if (req.start) {
        stdin = req.stdin && c.record.config.Config.OpenStdin ? new PassThrough() : undefined;
        unsubscribe = await startContainer(ctx, c, { stdin, ttySize: req.resize, onOutput });
      } else {
        requireOperation('attach', c.status, c.id);
        unsubscribe = c.pump?.subscribe(onOutput);
      }
      const input = req.stdin ? stdin : undefined;
      call.onMessage((m) => {
        const full = m.input && input ? writeInput(input, m.input) : undefined;
        if (m.eof) input?.end();
        if (m.resize && c.state.Running) void runtimeOf(ctx.runtimes, c).resize(startedOf(c), m.resize.rows, m.resize.cols).catch(() => undefined);
        return full;
      });
      try {
        const code = await Promise.race([c.waitFinished(), cancelledOf(call).then(() => undefined)]);
        if (code !== undefined) call.write({ exitCode: code });
      } finally {
        unsubscribe?.();
      }
    },
    'ContainerService/Exec': async (req: ExecRequest, call: StreamCall<'ContainerService/Exec'>) => {
      const proc = execInContainer(ctx, get(req.id), req);
      if (req.detach) return;
      call.onMessage((m) => {
        const full = m.input && proc.stdin ? writeInput(proc.stdin, m.input) : undefined;
        if (m.eof) proc.stdin?.end();
        if (m.resize) proc.resize(m.resize.rows, m.resize.cols);
        return full;
      });
      call.onCancel(() => proc.kill());
      const drained = [proc.stdout, proc.stderr].map(
        (s, i) =>
          new Promise<void>((resolve) => {
            if (!s) return resolve();
            // The exec's pipes are this client's alone: a client that reads slowly slows the
            // process, as a pipe would, instead of having its output pile up here.
            s.on('data', (data: Buffer) => {
              call.write({ stream: (i + 1) as 1 | 2, data });
              s.pause();
              void call.drained().then(() => s.resume());
            });
            s.on('close', () => resolve());
          }),
      );
      const code = await proc.exited;
      await Promise.all(drained);
      const why = proc.startError();
      if (why) call.write({ stream: 2, data: Buffer.from(`${why}\n`) });
      call.write({ exitCode: code });
    },
    'SystemService/Events': async (req, call) => {
      const parse = (t: string | undefined): bigint | undefined => {
        if (!t) return undefined;
        if (!/^\d+$/.test(t)) throw invalidArgs(`invalid time ${t}`);
        return BigInt(t);
      };
      const filter = { name: req.name, since: parse(req.since), until: parse(req.until) };
      for (const e of ctx.events.history()) if (eventMatches(e, filter)) call.write(e);
      const now = BigInt(Date.now()) * 1_000_000n;
      if (filter.until !== undefined && filter.until <= now) return;
      await new Promise<void>((resolve) => {
        const unsubscribe = ctx.events.subscribe((e) => {
          if (eventMatches(e, { ...filter, until: undefined })) call.write(e);
        });
        const done = (): void => {
          unsubscribe();
          resolve();
        };
        call.onCancel(done);
        if (filter.until !== undefined) setTimeout(done, Number((filter.until - now) / 1_000_000n));
      });
    },
  };
}
