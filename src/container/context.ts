import type { GarbageCollector } from '../gc/collector.js';
import type { ImageBackend } from '../image/image.js';
import type { RuntimeTable } from '../runtime/table.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { Logger } from '../sys/log.js';
import type { Container } from './container.js';
import type { ContainerDefaults } from './defaults.js';
import type { EventLog } from './events.js';
import type { HealthChecks } from './health.js';
import type { RestartManager } from './restart-manager.js';
import type { ContainerStore } from './store.js';

/** What every container verb works with. */
export interface EngineContext {
  store: ContainerStore;
  /** Each container's runtime, by the name in its record. */
  runtimes: RuntimeTable;
  images: ImageBackend[];
  events: EventLog;
  restarts: RestartManager;
  gc: GarbageCollector;
  health: HealthChecks;
  /**
   * After a run ended and its exit is recorded: the restart policy, or else --rm
   * (exit-policy.ts). Wired by the daemon, so that recording an exit needs no remove.
   */
  exitPolicy(c: Container): Promise<void>;
  log: Logger;
  defaults: ContainerDefaults;
  /** Features the host kernel lacks make the flags that need them fail early. */
  kernel: KernelFeatureSet;
}
