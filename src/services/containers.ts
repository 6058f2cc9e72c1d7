import type { EngineEvent, OutputChunk } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import { attachContainer } from '../container/attach.js';
import type { EngineContext } from '../container/context.js';
import { createContainer } from '../container/create.js';
import { streamExec } from '../container/exec-stream.js';
import { killContainer } from '../container/kill.js';
import { listContainers } from '../container/list.js';
import { streamLogs } from '../container/logs.js';
import { setPaused } from '../container/pause.js';
import { removeContainer } from '../container/remove.js';
import { renameContainer } from '../container/rename.js';
import { restartContainer } from '../container/restart.js';
import { startContainer } from '../container/start.js';
import { stopContainer } from '../container/stop.js';
import { topContainer } from '../container/top.js';
import { updateContainer } from '../container/update.js';
import { inspectView } from '../container/view.js';
import type { HandlerTable } from './handlers.js';

type ContainerHandlers = Omit<HandlerTable, 'SystemService/Version' | 'SystemService/Info' | `ImageService/${string}` | 'ContainerService/Export'>;

const cancelledOf = (call: { onCancel(listener: () => void): void }): Promise<void> => new Promise((resolve) => call.onCancel(resolve));

function eventMatches(e: EngineEvent, req: { name?: string; since?: bigint; until?: bigint }): boolean {
  const t = BigInt(e.timeNano);
  if (req.since !== undefined && t < req.since) return false;
  if (req.until !== undefined && t > req.until) return false;
  if (req.name && e.attributes.name !== req.name && !e.id.startsWith(req.name)) return false;
  return true;
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
    'ContainerService/Attach': (req, call) => attachContainer(ctx, get(req.id), req, call),
    'ContainerService/Exec': (req, call) => streamExec(ctx, get(req.id), req, call),
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
