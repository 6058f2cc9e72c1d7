import type { Runtime, RuntimeSpec } from '../runtime/runtime.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';

/**
 * Hands a container whose processes will not die to the garbage collector: what its run
 * holds on the host, and, for a container being removed, its directories too.
 */
export function handToCollector(ctx: EngineContext, c: Container, runtime: Runtime, spec: RuntimeSpec, removed: boolean): void {
  const res = runtime.hostResources(spec);
  ctx.gc.add({
    id: c.id,
    name: c.name,
    cgroupPath: res.cgroupPath,
    monitorCgroupPath: res.monitorCgroupPath,
    shimPid: c.state.ShimPid,
    shimStartTime: c.state.ShimStartTime,
    mounts: res.mounts,
    dirs: removed ? [...res.stateDirs, c.dir] : [],
    removed,
    ...(removed ? { imageType: c.record.config.ImageType } : {}),
  });
}
