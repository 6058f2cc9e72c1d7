import fs from 'node:fs';
import path from 'node:path';

/**
 * mkdir -p for paths a user names (graph, state, socket, pidfile, log). Node 20's
 * `mkdirSync(..., { recursive: true })` loops for ever where the kernel answers ENOENT under a
 * parent that exists, as under /proc; this one fails with that error instead.
 */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}
