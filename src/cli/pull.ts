import { generalError } from '../api/errors.js';
import type { PullProgress } from '../api/images.js';
import type { Transport } from '../client/transport.js';
import { ProgressPrinter } from './format/progress.js';

/**
 * Pulls an image with progress on `write` (stdout for `isula pull`, stderr for `run`/`create`
 * as Docker), then Docker's closing lines. Ctrl-C cancels the call: the daemon stops the pull.
 */
export async function pullWithProgress(
  client: Transport,
  image: string,
  platform: string | undefined,
  write: (text: string) => void,
  tty: boolean,
): Promise<PullProgress> {
  const printer = new ProgressPrinter(write, tty);
  let last: PullProgress = {};
  const { done, handle } = client.stream('ImageService/Pull', { image, ...(platform ? { platform } : {}) }, (p) => {
    if (p.digest !== undefined) last = p;
    else printer.update(p);
  });
  const cancel = (): void => handle.cancel();
  process.once('SIGINT', cancel);
  try {
    await done;
  } finally {
    process.off('SIGINT', cancel);
  }
  if (last.digest === undefined) throw generalError('pull cancelled');
  write(`Digest: ${last.digest}\n`);
  write(`Status: ${last.upToDate ? 'Image is up to date for' : 'Downloaded newer image for'} ${last.familiar ?? image}\n`);
  write(`${last.name}\n`);
  return last;
}
