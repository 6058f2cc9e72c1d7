import { generalError, unimplemented } from '../api/errors.js';
import type { EventLog } from '../container/events.js';
import { removalsSettled } from '../container/remove.js';
import type { ContainerStore } from '../container/store.js';
import { type ImageVerbDeps, inspectImage, listImages, loadImage, removeImage } from '../image/embedded/verbs.js';
import type { EmbeddedImageStore } from '../image/embedded/store.js';
import type { OciImages } from '../image/oci/verbs.js';
import type { KernelFeatureSet } from '../sys/kernel.js';
import type { StreamCall, StreamHandler, UnaryHandler } from './handlers.js';

type ImageMethod =
  | 'ImageService/Load'
  | 'ImageService/List'
  | 'ImageService/Remove'
  | 'ImageService/Inspect'
  | 'ImageService/Login'
  | 'ImageService/Logout'
  | 'ImageService/Tag'
  | 'ImageService/History'
  | 'ImageService/Prune';

type ImageHandlers = { [M in ImageMethod]: UnaryHandler<M> } & {
  'ImageService/Pull': StreamHandler<'ImageService/Pull'>;
  'ImageService/Push': StreamHandler<'ImageService/Push'>;
};

/** A signal aborted when the client goes away (Ctrl-C): the pull or push stops there. */
function cancelSignal(call: StreamCall<'ImageService/Pull' | 'ImageService/Push'>): AbortSignal {
  const controller = new AbortController();
  call.onCancel(() => controller.abort(generalError('cancelled by the client')));
  if (call.cancelled) controller.abort(generalError('cancelled by the client'));
  return controller.signal;
}

/**
 * The image calls: OCI images first (iSulad's order), then embedded ones. Without the OCI
 * back-end, the OCI-only calls answer "unimplemented".
 */
export function imageService(
  store: EmbeddedImageStore,
  containers: ContainerStore,
  events: EventLog,
  kernel: KernelFeatureSet,
  oci?: OciImages,
): ImageHandlers {
  const deps: ImageVerbDeps = {
    store,
    kernel,
    usersOf: (name) =>
      containers
        .all()
        .flatMap((c) => (c.record.config.ImageType === 'embedded' && c.record.config.Image === name ? [{ id: c.id, running: c.state.Running }] : [])),
    emit: (action, name, attributes) => events.emit('image', action, name, attributes),
  };
  const need = (): OciImages => {
    if (!oci) throw unimplemented('OCI images are not available on this daemon');
    return oci;
  };
  return {
    'ImageService/Load': (req) => loadImage(deps, req),
    'ImageService/List': async (req) => {
      const { dangling, ...embeddedFilters } = req.filters;
      // Embedded images always have a name: never dangling.
      const embedded = dangling?.at(-1) === 'true' ? [] : listImages(store, embeddedFilters);
      return { images: [...(oci ? oci.list(req.filters) : []), ...embedded] };
    },
    'ImageService/Remove': async (req) => {
      if (oci?.find(req.name)) {
        // A CRI container just removed may still be letting go of its layer.
        await removalsSettled();
        return oci.remove(req.name, req.force);
      }
      removeImage(deps, req.name, req.force);
      return { untagged: [req.name] };
    },
    'ImageService/Inspect': async (req) => ({ json: JSON.stringify(oci?.find(req.name) ? await oci.inspect(req.name) : inspectImage(store, req.name)) }),
    'ImageService/Pull': async (req, call) => {
      const r = await need().pull(req.image, req.platform, cancelSignal(call), (p) => call.write(p));
      call.write({ digest: r.digest, name: r.name, familiar: r.familiar, upToDate: r.upToDate });
    },
    'ImageService/Push': async (req, call) => {
      const digest = await need().push(req.image, cancelSignal(call), (p) => call.write(p));
      call.write({ digest });
    },
    'ImageService/Login': async (req) => {
      await need().login(req.server, req.username, req.password);
      return {};
    },
    'ImageService/Logout': async (req) => {
      await need().logout(req.server);
      return {};
    },
    'ImageService/Tag': async (req) => {
      await need().tag(req.source, req.target);
      return {};
    },
    'ImageService/History': async (req) => ({ entries: await need().history(req.name) }),
    'ImageService/Prune': (req) => need().prune(req.all, req.filters),
  };
}
