/**
 * CRI's ImageService on the OCI image verbs: the same store `isula images` shows. Only the
 * translation between CRI messages and the verbs lives here.
 */
import { invalidArgs } from '../../api/errors.js';
import { type AuthConfig, type Image, ImageService } from '../../api/cri/gen/api_pb.js';
import type { RegistryAuth, ReferencePort, StoredImage } from '../../image/oci/ports.js';
import type { ImageConfigFile } from '../../image/oci/types.js';
import type { OciImages } from '../../image/oci/verbs.js';
import { diskUsage, type DiskUsage } from '../../sys/disk-usage.js';
import { criUnary, type CriHandler } from './handlers.js';
import { removalsSettled } from '../../container/remove.js';

export interface CriImageDeps {
  images: OciImages;
  refs: ReferencePort;
  /** `<graph>/storage`: ImageFsInfo's mountpoint and what it measures. */
  storageDir: string;
  /** The sandbox (pause) image: reported pinned, kubelet's image GC leaves it alone. */
  podSandboxImage: string;
}

type ImageInit = Omit<Partial<Image>, '$typeName' | 'uid' | 'spec'> & { uid?: { value: bigint }; spec?: { image: string } };

/** kubelet asks every 10 s or so; a walk of a large store is not worth repeating that often. */
const USAGE_MAX_AGE_MS = 5000;
const ID_RE = /^(sha256:)?[0-9a-f]{4,64}$/;

const imageId = (image: StoredImage): string => `sha256:${image.id}`;

/**
 * The image's User as CRI gives it (containerd's rule): the part before `:`, a uid when
 * numeric, else a user name; neither when the image names no user.
 */
export function criUser(user: string | undefined): { uid?: { value: bigint }; username: string } {
  const name = (user ?? '').split(':')[0] ?? '';
  if (name === '') return { username: '' };
  return /^\d+$/.test(name) ? { uid: { value: BigInt(name) }, username: '' } : { username: name };
}

/** Hosts that are all Docker Hub in a credential's server address. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const sameRegistry = (a: string, b: string): boolean => a === b || (DOCKER_HUB.has(a) && DOCKER_HUB.has(b));

/**
 * The credentials of a pull's AuthConfig, as containerd reads it: username and password, else
 * `auth` (base64 of `user:password`); none for a server address that is not the image's
 * registry. Token forms are refused by name rather than silently dropped.
 */
export function pullCredentials(auth: AuthConfig | undefined, registry: string): RegistryAuth | undefined {
  if (!auth) return undefined;
  if (auth.serverAddress !== '') {
    const host = auth.serverAddress
      .replace(/^[a-z]+:\/\//i, '')
      .split('/')[0]!
      .toLowerCase();
    if (!sameRegistry(host, registry.toLowerCase())) return undefined;
  }
  if (auth.username !== '') return { username: auth.username, password: auth.password };
  if (auth.auth !== '') {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalidArgs('invalid auth in AuthConfig: want the base64 of user:password');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, '') };
  }
  if (auth.identityToken !== '' || auth.registryToken !== '') {
    const field = auth.identityToken !== '' ? 'identity_token' : 'registry_token';
    throw invalidArgs(`AuthConfig.${field} is not supported by this engine: give username and password (or auth)`);
  }
  return undefined;
}

export function criImageService(deps: CriImageDeps): CriHandler[] {
  const { images, refs } = deps;
  const method = ImageService.method;

  const pinnedName = ((): string | undefined => {
    try {
      return refs.format(refs.parse(deps.podSandboxImage));
    } catch {
      return undefined;
    }
  })();

  /** An image by name, digest or id; a text that is neither is InvalidArgument. */
  const lookup = (text: string): StoredImage | undefined => {
    if (text === '') throw invalidArgs('no image given: ImageSpec.image is empty');
    if (!ID_RE.test(text)) refs.parse(text);
    return images.find(text);
  };

  const toCri = (image: StoredImage, config: ImageConfigFile): ImageInit => ({
    id: imageId(image),
    repoTags: [...image.names],
    repoDigests: [...image.repoDigests],
    size: BigInt(image.size),
    ...criUser(config.config?.User),
    spec: { image: imageId(image) },
    pinned: pinnedName !== undefined && image.names.includes(pinnedName),
  });

  const describe = async (image: StoredImage): Promise<ImageInit> => toCri(image, await images.config(image));

  let usage: { at: number; value: Promise<DiskUsage> } | undefined;
  const storageUsage = (): Promise<DiskUsage> => {
    if (!usage || Date.now() - usage.at > USAGE_MAX_AGE_MS) {
      const value = diskUsage(deps.storageDir);
      usage = { at: Date.now(), value };
      // A failed walk is not kept: the next call walks again.
      value.catch(() => (usage = undefined));
    }
    return usage.value;
  };

  return [
    criUnary(method.listImages, async (request) => {
      const wanted = request.filter?.image?.image ?? '';
      if (wanted !== '') {
        const image = lookup(wanted);
        return { images: image ? [await describe(image)] : [] };
      }
      return { images: await Promise.all(images.store.listImages().map(describe)) };
    }),

    // The CRI contract: an image not present is a response without an image, not an error.
    criUnary(method.imageStatus, async (request) => {
      const image = lookup(request.image?.image ?? '');
      if (!image) return {};
      const config = await images.config(image);
      const info: Record<string, string> = request.verbose
        ? { info: JSON.stringify({ id: imageId(image), chainID: image.layers.at(-1) ?? '', loaded: image.loaded, imageSpec: config }) }
        : {};
      return { image: toCri(image, config), info };
    }),

    criUnary(method.pullImage, async (request, call) => {
      const text = request.image?.image ?? '';
      if (text === '') throw invalidArgs('no image given: ImageSpec.image is empty');
      const ref = refs.parse(text);
      // The pull's own credentials, held only by this call; the sandbox config picks nothing here.
      const auth = pullCredentials(request.auth, ref.registry);
      const result = await images.pull(text, undefined, call.signal, () => undefined, auth);
      // kubelet keeps this as the image's ref and compares it with ImageStatus's id.
      return { imageRef: imageId(result.image) };
    }),

    // Idempotent, as kubelet expects: an image already gone is removed.
    criUnary(method.removeImage, async (request) => {
      const image = lookup(request.image?.image ?? '');
      if (!image) return {};
      // A container just removed may still be letting go of its layer (RemoveContainer's `later`).
      await removalsSettled();
      // The whole image, every name (containerd's behaviour; kubelet removes by id).
      await images.remove(imageId(image), true);
      return {};
    }),

    criUnary(method.imageFsInfo, async () => {
      const { bytes, inodes } = await storageUsage();
      return {
        imageFilesystems: [
          {
            timestamp: BigInt(Date.now()) * 1_000_000n,
            fsId: { mountpoint: deps.storageDir },
            usedBytes: { value: BigInt(bytes) },
            inodesUsed: { value: BigInt(inodes) },
          },
        ],
      };
    }),
  ];
}
