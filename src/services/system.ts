import os from 'node:os';
import { ENGINE_VERSION, versionInfo } from '../api/version.js';
import type { GcLeftover, InfoResponse, KernelFeatures } from '../api/system.js';
import type { UnaryHandler } from './handlers.js';
import { hostFacts } from './host-facts.js';

/** Engine facts the daemon hands to the system service. */
export interface EngineFacts {
  rootDir: string;
  stateDir: string;
  defaultRuntime: string;
  runtimes: string[];
  storageDriver: string;
  logDriver: string;
  logLevel: string;
  cgroup: { version: string; controllers: string[] };
  kernel: KernelFeatures;
  containerCounts(): { total: number; running: number; paused: number; stopped: number };
  imageCount(): number;
  gcLeftovers(): GcLeftover[];
}

export function systemService(facts: EngineFacts): {
  'SystemService/Version': UnaryHandler<'SystemService/Version'>;
  'SystemService/Info': UnaryHandler<'SystemService/Info'>;
} {
  return {
    'SystemService/Version': async () => ({ ...versionInfo(), kernel: os.release(), rootDir: facts.rootDir }),
    'SystemService/Info': async (): Promise<InfoResponse> => ({
      host: await hostFacts(),
      engine: {
        serverVersion: ENGINE_VERSION,
        rootDir: facts.rootDir,
        stateDir: facts.stateDir,
        defaultRuntime: facts.defaultRuntime,
        runtimes: facts.runtimes,
        storageDriver: facts.storageDriver,
        logDriver: facts.logDriver,
        logLevel: facts.logLevel,
        cgroup: facts.cgroup,
        kernel: facts.kernel,
      },
      containers: facts.containerCounts(),
      images: facts.imageCount(),
      gc: facts.gcLeftovers(),
    }),
  };
}
