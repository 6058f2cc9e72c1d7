import type { ArchiveChunk, LoadRequest, LoadResponse } from '../api/images.js';
import { failedPrecondition } from '../api/errors.js';
import type { Container } from '../container/container.js';
import type { EventLog } from '../container/events.js';
import type { ContainerStore } from '../container/store.js';
import { type ArchiveDeps, exportRootfs, importTarball, loadArchive, type MountedRootfs, saveImages } from '../image/oci/archive/verbs.js';
import type { StreamCall, StreamHandler, UnaryHandler } from './handlers.js';

interface ArchiveHandlers {
  'ImageService/Load': UnaryHandler<'ImageService/Load'>;
  'ImageService/Save': StreamHandler<'ImageService/Save'>;
  'ImageService/Import': UnaryHandler<'ImageService/Import'>;
  'ContainerService/Export': StreamHandler<'ContainerService/Export'>;
}

export interface ArchiveServiceDeps {
  /** What the archive verbs need of the OCI back-end. */
  archives: ArchiveDeps;
  /** `load -t embedded`. */
  loadEmbedded(req: LoadRequest): Promise<LoadResponse>;
  containers: ContainerStore;
  events: EventLog;
  /**
   * A container's filesystem to export, mounted for the export if it was not; undefined
   * when no back-end gives this container's rootfs as a directory (a block device).
   */
  rootfsOf(c: Container): Promise<MountedRootfs | undefined>;
  warn(message: string): void;
}

/** Sends a tar as it is made, no faster than the client takes it. */
async function pump(chunks: AsyncGenerator<Buffer>, call: StreamCall<'ImageService/Save' | 'ContainerService/Export'>): Promise<void> {
  let unsent = 0;
  try {
    for await (const data of chunks) {
      if (call.cancelled) break;
      (call as StreamCall<'ImageService/Save'>).write({ data } satisfies ArchiveChunk);
      unsent += data.length;
      if (unsent >= 1024 * 1024) {
        await call.drained();
        unsent = 0;
      }
    }
  } finally {
    // A cancelled call ends the generator, whose cleanup (tar killed, mount released) then runs.
    await chunks.return(undefined);
  }
}

/** isula load (docker and oci archives; embedded manifests elsewhere), save, import, export. */
export function archiveService(deps: ArchiveServiceDeps): ArchiveHandlers {
  return {
    'ImageService/Load': async (req) => {
      if (req.type === 'embedded') return deps.loadEmbedded(req);
      const loaded = await loadArchive(deps.archives, req.path, req.tag);
      return { name: loaded[0]?.replace(/^Loaded image( ID)?: /, '') ?? '', created: true, loaded };
    },
    'ImageService/Save': async (req, call) => {
      await pump(await saveImages(deps.archives, req.names), call);
    },
    'ImageService/Import': async (req) => ({ id: await importTarball(deps.archives, req.path, req.reference, req.source) }),
    'ContainerService/Export': async (req, call) => {
      const c = deps.containers.get(req.id);
      const rootfs = await deps.rootfsOf(c);
      if (!rootfs) throw failedPrecondition(`Container ${c.id} has no directory rootfs to export`);
      try {
        await pump(exportRootfs(rootfs.path, deps.warn), call);
      } finally {
        await rootfs.release();
      }
      deps.events.emit('container', 'export', c.id, { name: c.name });
    },
  };
}
