import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { generalError } from '../api/errors.js';
import type { CliContext } from './context.js';
import { writeOut } from './stdio.js';

/**
 * Writes a tar the daemon streams (save, export) to `output`, or to stdout when there is
 * none and stdout is not a terminal (Docker's rule). A file is written beside its target
 * under a temp name and renamed when complete, so a failed or interrupted call leaves no
 * partial archive under the name asked for.
 */
export async function receiveArchive(
  ctx: CliContext,
  method: 'ImageService/Save' | 'ContainerService/Export',
  request: { names: string[] } | { id: string },
  output: string | undefined,
): Promise<number> {
  let fd = 1;
  let temp: string | undefined;
  let target: string | undefined;
  if (output) {
    target = path.resolve(output);
    temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
    try {
      fd = fs.openSync(temp, 'wx', 0o666);
    } catch (e) {
      throw generalError(`Failed to open ${output}: ${(e as Error).message}`);
    }
  } else if (tty.isatty(1)) {
    throw generalError('Cowardly refusing to write an archive to a terminal. Use the -o flag or redirect');
  }
  const cleanup = (): void => {
    if (temp === undefined) return;
    try {
      fs.closeSync(fd);
    } catch {}
    fs.rmSync(temp, { force: true });
  };
  const client = ctx.client();
  // Overlapped with the request: a call with a bad name fails before any byte is written.
  const { done, handle } = client.stream(method as 'ImageService/Save', request as { names: string[] }, (chunk) => {
    if (fd === 1) writeOut(chunk.data);
    else fs.writeSync(fd, chunk.data);
  });
  process.once('SIGINT', () => {
    handle.cancel();
    cleanup();
    process.exit(130);
  });
  try {
    await done;
  } catch (e) {
    cleanup();
    throw e;
  }
  if (temp !== undefined && target !== undefined) {
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temp, target);
  }
  return 0;
}
