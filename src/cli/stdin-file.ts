import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Runs `use` on a private temp file holding our stdin (`import -`, `load` without -i, as
 * Docker's): the daemon then reads it as it reads a FILE argument, so it works where FILE
 * works (a daemon on this host), and no archive is held in memory. Removed afterwards.
 */
export async function withStdinFile<T>(use: (file: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isula-stdin-'));
  try {
    const file = path.join(dir, 'stdin.tar');
    await pipeline(fs.createReadStream('', { fd: 0, autoClose: false }), fs.createWriteStream(file, { mode: 0o600 }));
    return await use(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
