import type { StartedContainer } from '../runtime/runtime.js';
import type { Container } from './container.js';

/** The persisted processes of a running container, as the runtime wants them. */
export function startedOf(c: Container): StartedContainer {
  const s = c.state;
  return { pid: s.Pid, pidStartTime: s.PidStartTime, shimPid: s.ShimPid, shimStartTime: s.ShimStartTime };
}
