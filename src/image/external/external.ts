import fs from 'node:fs';
import { invalidArgs } from '../../api/errors.js';
import type { ImageBackend, ResolvedImage } from '../image.js';

export const NONE_IMAGES = new Set(['none', 'none:latest']);

/**
 * External rootfs (`--external-rootfs PATH none ...`): a directory or block device the
 * engine does not own. Nothing is copied or mounted on the host, and it is never deleted.
 */
export class ExternalImageBackend implements ImageBackend {
  readonly kind = 'external' as const;

  detect(_image: string, externalRootfs: string | undefined): boolean {
    return externalRootfs !== undefined;
  }

  async resolve(image: string, externalRootfs: string | undefined): Promise<ResolvedImage> {
    if (!externalRootfs) throw invalidArgs('--external-rootfs is required for an external rootfs');
    if (!externalRootfs.startsWith('/')) throw invalidArgs(`--external-rootfs ${externalRootfs}: must be an absolute path`);
    if (!NONE_IMAGES.has(image)) {
      throw invalidArgs(`image "${image}" cannot be the config image of an external rootfs: only none is supported without OCI images`);
    }
    let real: string;
    try {
      real = fs.realpathSync(externalRootfs);
    } catch {
      throw invalidArgs(`--external-rootfs ${externalRootfs}: no such file or directory`);
    }
    // The host's own root as a container's rootfs would let the container (and the engine's
    // writes into its rootfs) change the host itself.
    if (real === '/') throw invalidArgs(`--external-rootfs ${externalRootfs}: resolves to the host's root directory /, which cannot be a container's rootfs`);
    const st = fs.statSync(real);
    if (!st.isDirectory() && !st.isBlockDevice()) throw invalidArgs(`--external-rootfs ${externalRootfs}: must be a directory or a block device`);
    return {
      name: 'none',
      type: 'external',
      rootfs: { kind: st.isDirectory() ? 'dir' : 'block', path: real },
      mounts: [],
      config: { env: [], entrypoint: [], workdir: '' },
      userDbRoot: st.isDirectory() ? real : '/',
    };
  }
}
