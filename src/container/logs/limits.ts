import { parseBytes } from '../../common/units.js';
import type { Container } from '../container.js';
import type { ContainerDefaults } from '../defaults.js';

/** --log-opt max-size/max-file of the container, else the daemon's container-log defaults. */
export function logLimits(c: Container, defaults: ContainerDefaults): { maxBytes: number; maxFiles: number } {
  const opts = c.record.host.LogConfig.Config;
  const maxBytes = opts['max-size'] ? (parseBytes(opts['max-size']) ?? defaults.logMaxBytes) : defaults.logMaxBytes;
  const maxFiles = opts['max-file'] ? Number(opts['max-file']) : defaults.logMaxFiles;
  return { maxBytes, maxFiles };
}
