import type { ImageBackend } from '../image/image.js';
import type { Container } from './container.js';
import type { EngineContext } from './context.js';
import type { ContainerConfigV2 } from './record.js';

/** The back-end that made the container's rootfs, when its kind gives each container one. */
function rootfsOwner(ctx: EngineContext, c: Container): ImageBackend | undefined {
  return ctx.images.find((b) => b.kind === c.record.config.ImageType && b.mountRootfs !== undefined);
}

/**
 * Before a start: an image's rootfs is mounted at the first start and stays mounted until rm
 * (restarts and restores need nothing), but a reboot or an admin's umount takes it away;
 * mounting again is a no-op otherwise.
 */
export async function ensureRootfs(ctx: EngineContext, c: Container): Promise<void> {
  await rootfsOwner(ctx, c)?.mountRootfs?.(c.id);
}

/** After the record is gone: the container's own rootfs goes too. A failure is logged; the start sweep retries it. */
export async function removeRootfs(ctx: EngineContext, c: Container): Promise<void> {
  const owner = rootfsOwner(ctx, c);
  if (!owner?.removeRootfs) return;
  await owner.removeRootfs(c.id).catch((e: Error) => ctx.log.warn(`removing the rootfs of ${c.id}: ${e.message}`));
}

/** At daemon start: false for a record whose back-end gives each container a rootfs and has none for it. */
export function rootfsMade(images: readonly ImageBackend[], config: ContainerConfigV2): boolean {
  const owner = images.find((b) => b.kind === config.ImageType && b.hasRootfs !== undefined);
  return owner?.hasRootfs?.(config.ID) ?? true;
}
