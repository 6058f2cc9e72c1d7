import { generalError } from '../api/errors.js';
import type { PullProgress, PullRequest } from '../api/images.js';
import type { Transport } from '../client/transport.js';
import { ProgressPrinter } from './format/progress.js';

/**
 * Runs a pull or push with progress on `write` and returns its last message (the one with
 * the digest, if the call got that far). Ctrl-C cancels the call: the daemon stops too.
 */
export async function streamProgress(
  client: Transport,
  method: 'ImageService/Pull' | 'ImageService/Push',
  request: PullRequest,
  write: (text: string) => void,
  tty: boolean,
): Promise<PullProgress> {
  const printer = new ProgressPrinter(write, tty);
  let last: PullProgress = {};
  const { done, handle } = client.stream(method, request, (p) => {
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
  return last;
}

/**
 * Pulls an image with progress on `write` (stdout for `isula pull`, stderr for `run`/`create`
 * as Docker), then Docker's closing lines.
 */
export async function pullWithProgress(
  client: Transport,
  image: string,
  platform: string | undefined,
  write: (text: string) => void,
  tty: boolean,
): Promise<PullProgress> {
  const last = await streamProgress(client, 'ImageService/Pull', { image, ...(platform ? { platform } : {}) }, write, tty);
  if (last.digest === undefined) throw generalError('pull cancelled');
  write(`Digest: ${last.digest}\n`);
  write(`Status: ${last.upToDate ? 'Image is up to date for' : 'Downloaded newer image for'} ${last.familiar ?? image}\n`);
  write(`${last.name}\n`);
  return last;
}
