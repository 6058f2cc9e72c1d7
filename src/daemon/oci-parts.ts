/**
 * The OCI image back-end's parts, opened at daemon start: the store on `<graph>/storage`,
 * the registry client with daemon.json's mirrors and insecure registries, iSulad's
 * certs.d and daemon_constants.json, and credentials under the daemon user's home
 * (`~/.isulad`, as iSulad's /root/.isulad). Adapts them to the calls the verbs use.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalidArgs } from '../api/errors.js';
import { familiarReference, formatReference, parseReference } from '../image/oci/reference.js';
import { CredentialStore, loadRegistryConfig, pushImage, RegistryClient } from '../image/oci/registry/index.js';
import type { RegistryPort } from '../image/oci/ports.js';
import { OciStore } from '../image/oci/storage/store.js';
import type { Logger } from '../sys/log.js';
import type { DaemonConfig } from './config/config.js';
import type { OciParts } from './engine.js';

export interface OpenedOci extends OciParts {
  /** The store itself: load and import use a call beyond the verbs' port (importLayer). */
  store: OciStore;
  close(): void;
}

/** iSulad's temp dir (`<graph>/isulad_tmpdir`), emptied at every start: pushes in flight when the daemon died. */
function daemonTmpDir(graph: string): string {
  const dir = path.join(graph, 'isulad_tmpdir');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Opens the store (its recovery removes what a crash left half made) and the registry client. */
export async function openOciParts(config: DaemonConfig, storageDriver: string, log: Logger): Promise<OpenedOci> {
  if (storageDriver !== 'overlay2' && storageDriver !== 'vfs') {
    throw invalidArgs(`storage driver "${storageDriver}" is not supported: want overlay2 (vfs when the kernel has no overlay) or vfs`);
  }
  const tmpDir = daemonTmpDir(config.graph);
  const store = await OciStore.open({ graph: config.graph, driver: storageDriver, storageOpts: config.storageOpts, log: log.child('storage') });
  const registryConfig = await loadRegistryConfig({ mirrors: config.registryMirrors, insecure: config.insecureRegistries });
  const client = new RegistryClient(registryConfig, new CredentialStore(path.join(os.homedir(), '.isulad')), log.child('registry'));
  const registry: RegistryPort = {
    fetchImage: (ref, opts) => client.fetchImage(ref, opts),
    pushImage: async (ref, image, opts) => {
      const r = await pushImage(client, ref, {
        configBytes: image.configBytes,
        layers: image.layers,
        tmpDir,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (p) => opts.onLayer?.(image.layers[p.layer]!.diffId, p.status),
      });
      return r.manifestDigest;
    },
    login: (server, username, password) => client.login(server, { username, password }),
    logout: async (server) => {
      await client.logout(server);
    },
  };
  return {
    store,
    registry,
    refs: {
      parse: (text) => client.parse(text),
      format: formatReference,
      familiar: (full) => familiarReference(parseReference(full)),
    },
    close: () => client.close(),
  };
}
