import type { VersionInfo } from './system.js';

/** Filled in by the build (esbuild --define); the fallbacks serve unbundled runs such as unit tests. */
declare const __ISULAD_VERSION__: string | undefined;
declare const __ISULAD_GIT_COMMIT__: string | undefined;
declare const __ISULAD_BUILD_TIME__: string | undefined;

export const ENGINE_VERSION: string = typeof __ISULAD_VERSION__ === 'string' ? __ISULAD_VERSION__ : '0.0.0-dev';
export const GIT_COMMIT: string = typeof __ISULAD_GIT_COMMIT__ === 'string' ? __ISULAD_GIT_COMMIT__ : 'unknown';
export const BUILD_TIME: string = typeof __ISULAD_BUILD_TIME__ === 'string' ? __ISULAD_BUILD_TIME__ : 'unknown';
/** Version of the wire contract in this folder; bumped when a message changes incompatibly. */
export const API_VERSION = '1.0';

/** iSulad, like Docker, names architectures as Go does; Node's x64 is Go's amd64. */
const GO_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', ia32: '386' };

/** This process's build, as both `isula version` sections show it. */
export function versionInfo(): VersionInfo {
  return {
    version: ENGINE_VERSION,
    apiVersion: API_VERSION,
    gitCommit: GIT_COMMIT,
    buildTime: BUILD_TIME,
    // Bun claims a Node version of its own: name Bun beside it.
    nodeVersion: process.versions.bun ? `${process.versions.node} (Bun ${process.versions.bun})` : process.versions.node,
    os: process.platform,
    arch: GO_ARCH[process.arch] ?? process.arch,
  };
}
