import { LxcRuntime } from '../runtime/lxc/lxc.js';
import { RuntimeTable } from '../runtime/table.js';
import type { Logger } from '../sys/log.js';
import type { DaemonConfig } from './config/config.js';

/**
 * The daemon's runtimes (iSulad's rt_ops): lcr, on LXC, also called lxc. The OCI runtimes
 * daemon.json's `runtimes` names (runc, kata ...) have no back-end here yet, so they stay out
 * of the table and a container naming one is refused at create; config.ts has already put a
 * `default-runtime` that is not lcr back to lcr, with a warning.
 */
export function buildRuntimes(config: DaemonConfig, cgroupParent: string, log: Logger): { table: RuntimeTable; lcr: LxcRuntime } {
  const lcr = new LxcRuntime(config.graph, config.state, `${cgroupParent}.monitor`, log.child('lxc'), config.startTimeoutMs || undefined);
  const table = new RuntimeTable([lcr], { lxc: lcr.name });
  if (!table.find(config.defaultRuntime)) throw new Error(`default runtime ${config.defaultRuntime} is not in the runtime table`);
  return { table, lcr };
}
