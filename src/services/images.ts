import { generalError, imageBusy, imageNotFound } from '../api/errors.js';
import type { ImageSummary } from '../api/images.js';
import type { EventLog } from '../container/events.js';
import type { ContainerStore } from '../container/store.js';
import { inspectEmbeddedImage } from '../image/embedded/backend.js';
import { readEmbeddedManifest } from '../image/embedded/manifest.js';
import { type EmbeddedImageStore, withDefaultTag } from '../image/embedded/store.js';
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
  const usersOf = (name: string) => containers.all().filter((c) => c.record.config.Image === name);
  return {
    'ImageService/Load': async (req) => {
      if (req.type !== 'embedded') {
        throw generalError(`load of "${req.type}" images is not supported: this engine loads embedded images only (-t embedded)`);
      }
      if (req.tag) throw generalError('--tag is only for docker type images');
      const manifest = await readEmbeddedManifest(req.path);
      if (manifest.layers.some((l) => l.type === 'squashfs') && !(kernel.squashfs && kernel.loop)) {
        throw generalError(`Your kernel does not support ${kernel.squashfs ? 'loop devices' : 'the squashfs filesystem'}; embedded image ${req.path} has squashfs layers and is refused`);
      }
      const { image, created } = store.add(manifest);
      if (created) events.emit('image', 'load', image.name, { name: image.name, type: 'embedded' });
      return { name: image.name, created };
    },
    'ImageService/List': async (req) => {
      // iSulad omits embedded images whenever a filter is given; we filter by reference instead.
      const refs = req.filters.reference ?? [];
      const unknown = Object.keys(req.filters).filter((k) => k !== 'reference');
      if (unknown.length > 0) throw generalError(`Invalid filter '${unknown[0]}'`);
      const images: ImageSummary[] = store
        .list()
        .filter((i) => refs.length === 0 || refs.some((r) => i.name === withDefaultTag(r) || i.name.split(':')[0] === r))
        .map((i) => ({ id: i.id, name: i.name, digest: i.digest, created: i.created, size: i.size, type: 'embedded' }));
      return { images };
    },
    'ImageService/Remove': async (req) => {
      const record = store.get(req.name);
      if (!record) throw imageNotFound(`No such image: ${req.name}`);
      const users = usersOf(record.name);
      const blocking = req.force ? users.filter((c) => c.state.Running) : users;
      if (blocking.length > 0) {
        throw imageBusy(`Embeded image used by ${blocking.map((c) => c.id).join(', ')}${req.force ? ' (running)' : ''}`);
      }
      store.remove(record.name);
      events.emit('image', 'delete', record.name, { name: record.name });
      return {};
    },
    'ImageService/Inspect': async (req) => {
      const record = store.get(req.name);
      if (!record) throw imageNotFound(`No such image: ${req.name}`);
      return { json: JSON.stringify(inspectEmbeddedImage(record)) };
    },
  };
}
