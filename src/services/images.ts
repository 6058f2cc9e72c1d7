import type { EventLog } from '../container/events.js';
import type { ContainerStore } from '../container/store.js';
import { type ImageVerbDeps, inspectImage, listImages, loadImage, removeImage } from '../image/embedded/verbs.js';
import type { EmbeddedImageStore } from '../image/embedded/store.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { UnaryHandler } from './handlers.js';

interface ImageHandlers {
  'ImageService/Load': UnaryHandler<'ImageService/Load'>;
  'ImageService/List': UnaryHandler<'ImageService/List'>;
  'ImageService/Remove': UnaryHandler<'ImageService/Remove'>;
  'ImageService/Inspect': UnaryHandler<'ImageService/Inspect'>;
}

/** isula load / images / rmi / inspect IMAGE, for iSulad's embedded images. */
export function imageService(store: EmbeddedImageStore, containers: ContainerStore, events: EventLog, kernel: KernelFeatureSet): ImageHandlers {
  const deps: ImageVerbDeps = {
    store,
    kernel,
    usersOf: (name) => containers.all().flatMap((c) => (c.record.config.Image === name ? [{ id: c.id, running: c.state.Running }] : [])),
    emit: (action, name, attributes) => events.emit('image', action, name, attributes),
  };
  return {
    'ImageService/Load': (req) => loadImage(deps, req),
    'ImageService/List': async (req) => ({ images: listImages(store, req.filters) }),
    'ImageService/Remove': async (req) => {
      removeImage(deps, req.name, req.force);
      return {};
    },
    'ImageService/Inspect': async (req) => ({ json: JSON.stringify(inspectImage(store, req.name)) }),
  };
}
