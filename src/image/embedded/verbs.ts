// isula load / images / rmi / inspect IMAGE on the embedded image store.
import { ExitCode, failedPrecondition, fault, imageBusy, imageNotFound, unimplemented } from '../../api/errors.js';
import type { ImageSummary, LoadRequest } from '../../api/images.js';
import type { KernelFeatureSet } from '../../sys/kernel.js';
import { inspectEmbeddedImage } from './backend.js';
import { readEmbeddedManifest } from './manifest.js';
import { type EmbeddedImageStore, withDefaultTag } from './store.js';

/** A container made from an image, as far as removing the image cares. */
export interface ImageUser {
  id: string;
  running: boolean;
}

/** What the image verbs need from the rest of the engine, which src/image/ does not import. */
export interface ImageVerbDeps {
  store: EmbeddedImageStore;
  kernel: KernelFeatureSet;
  /** The containers made from the image named `name`. */
  usersOf(name: string): ImageUser[];
  /** Records an image event (load, delete). */
  emit(action: string, name: string, attributes: Record<string, string>): void;
}

/** `isula load -t embedded`: validates the manifest and adds it; a reload of the same one creates nothing. */
export async function loadImage(deps: ImageVerbDeps, req: LoadRequest): Promise<{ name: string; created: boolean }> {
  const { kernel } = deps;
  if (req.type !== 'embedded') {
    throw unimplemented(`load of "${req.type}" images is not supported: this engine loads embedded images only (-t embedded)`);
  }
  if (req.tag) throw fault('InvalidArgument', '--tag is only for docker type images', ExitCode.general);
  const manifest = await readEmbeddedManifest(req.path);
  if (manifest.layers.some((l) => l.type === 'squashfs') && !(kernel.squashfs && kernel.loop)) {
    throw failedPrecondition(
      `Your kernel does not support ${kernel.squashfs ? 'loop devices' : 'the squashfs filesystem'}; embedded image ${req.path} has squashfs layers and is refused`,
    );
  }
  const { image, created } = deps.store.add(manifest);
  if (created) deps.emit('load', image.name, { name: image.name, type: 'embedded' });
  return { name: image.name, created };
}

/** `isula images`, filtered by reference. */
export function listImages(store: EmbeddedImageStore, filters: Record<string, string[]>): ImageSummary[] {
  // iSulad omits embedded images whenever a filter is given; we filter by reference instead.
  const refs = filters.reference ?? [];
  const unknown = Object.keys(filters).filter((k) => k !== 'reference');
  if (unknown.length > 0) throw fault('InvalidArgument', `Invalid filter '${unknown[0]}'`, ExitCode.general);
  return store
    .list()
    .filter((i) => refs.length === 0 || refs.some((r) => i.name === withDefaultTag(r) || i.name.split(':')[0] === r))
    .map((i) => ({ id: i.id, name: i.name, digest: i.digest, created: i.created, size: i.size, type: 'embedded' }));
}

/** `isula rmi`: refused while containers use the image (with -f, while they run). */
export function removeImage(deps: ImageVerbDeps, name: string, force: boolean): void {
  const record = deps.store.get(name);
  if (!record) throw imageNotFound(`No such image: ${name}`);
  const users = deps.usersOf(record.name);
  const blocking = force ? users.filter((c) => c.running) : users;
  if (blocking.length > 0) {
    throw imageBusy(`Embeded image used by ${blocking.map((c) => c.id).join(', ')}${force ? ' (running)' : ''}`);
  }
  deps.store.remove(record.name);
  deps.emit('delete', record.name, { name: record.name });
}

/** `isula inspect IMAGE`: the image's description, as iSulad prints it. */
export function inspectImage(store: EmbeddedImageStore, name: string): unknown {
  const record = store.get(name);
  if (!record) throw imageNotFound(`No such image: ${name}`);
  return inspectEmbeddedImage(record);
}
