import type { GarbageCollector } from '../gc/collector.js';
import type { ImageBackend } from '../image/image.js';
import type { Runtime } from '../runtime/runtime.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { Logger } from '../sys/log.js';
import type { ContainerDefaults } from './defaults.js';
import type { EventLog } from './events.js';
import type { HealthChecks } from './health.js';
import type { RestartManager } from './restart-manager.js';
import type { ContainerStore } from './store.js';

/** What every container verb works with. */
export interface EngineContext {
  store: ContainerStore;
  runtime: Runtime;
  images: ImageBackend[];
  events: EventLog;
  restarts: RestartManager;
  gc: GarbageCollector;
  health: HealthChecks;
  log: Logger;
  defaults: ContainerDefaults;
  /** Features the host kernel lacks make the flags that need them fail early. */
  kernel: KernelFeatureSet;
}
