import type { UpdateRequest } from '../api/containers.js';
import { invalidArgs } from '../api/errors.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import { validateResourceValues } from './resources.js';
import { runtimeOf, runtimeSpecOf } from './spec.js';

/** `isula update`: resources of a running container are written to its cgroups at once. */
export function updateContainer(ctx: EngineContext, c: Container, req: UpdateRequest): Promise<void> {
  return c.lock.run(async () => {
    const host = c.record.host;
    validateResourceValues(req.resources);
    const r = { ...host.Resources, ...req.resources };
    if (req.resources.nanoCpus !== undefined && (host.Resources.cpuPeriod || host.Resources.cpuQuota)) {
      throw invalidArgs('Conflicting options: CPU Period/Quota was set before, Nano CPUs cannot be updated');
    }
    if ((req.resources.cpuPeriod || req.resources.cpuQuota) && host.Resources.nanoCpus) {
      throw invalidArgs('Conflicting options: Nano CPUs was set before, CPU Period/Quota cannot be updated');
    }
    if (r.memory && r.memorySwap && r.memorySwap > 0 && r.memory > r.memorySwap) {
      throw invalidArgs('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    if (req.restartPolicy && host.AutoRemove && req.restartPolicy.name !== 'no')
      throw invalidArgs('Restart policy cannot be updated because AutoRemove is enabled for the container');
    const previous = { resources: host.Resources, policy: host.RestartPolicy };
    const undo = (): void => {
      host.Resources = previous.resources;
      host.RestartPolicy = previous.policy;
    };
    if (req.restartPolicy) host.RestartPolicy = req.restartPolicy;
    host.Resources = r;
    try {
      if (c.state.Running) await runtimeOf(ctx.runtimes, c).update(runtimeSpecOf(c, ctx.defaults), req.resources);
    } catch (e) {
      undo();
      throw e;
    }
    try {
      await c.saveHost();
    } catch (e) {
      // Unrecorded (disk full): the record's values again, in memory and, as far as they go, in the cgroups.
      undo();
      if (c.state.Running)
        await runtimeOf(ctx.runtimes, c)
          .update(runtimeSpecOf(c, ctx.defaults), previous.resources)
          .catch(() => undefined);
      throw e;
    }
    ctx.events.emit('container', 'update', c.id, { name: c.name });
  });
}
