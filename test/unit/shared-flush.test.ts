import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { syncFilesystem } from '../../src/sys/mount.js';
import { SharedFlush } from '../../src/sys/shared-flush.js';

describe('SharedFlush', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-syncfs-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The real `sync -f`, with the moments each one began and ended. */
  function recorded(): { syncfs: SharedFlush; runs: { began: number; ended?: number }[] } {
    const runs: { began: number; ended?: number }[] = [];
    let clock = 0;
    const syncfs = new SharedFlush(async () => {
      const run: { began: number; ended?: number } = { began: ++clock };
      runs.push(run);
      await syncFilesystem(dir);
      run.ended = ++clock;
    });
    return { syncfs, runs };
  }

  it('callers asking while one runs share the next; each settles after a syncfs that began after its call', async () => {
    const { syncfs, runs } = recorded();
    const first = syncfs.run();
    // Asked while the first runs: carried by one more, begun after the first ends.
    const later = [syncfs.run(), syncfs.run(), syncfs.run()];
    await Promise.all([first, ...later]);
    assert.equal(runs.length, 2);
    assert.ok(runs[1]!.began > runs[0]!.ended!, 'the shared syncfs began after the running one ended');
  });

  it('a caller after all have settled gets a syncfs of its own', async () => {
    const { syncfs, runs } = recorded();
    await syncfs.run();
    await syncfs.run();
    assert.equal(runs.length, 2);
  });

  it('a failed syncfs fails its callers and does not stop the next', async () => {
    let fail = true;
    const syncfs = new SharedFlush(async () => {
      if (fail) {
        fail = false;
        throw new Error('EIO');
      }
      await syncFilesystem(dir);
    });
    const first = syncfs.run();
    const second = syncfs.run();
    await assert.rejects(first, /EIO/);
    await second;
  });
});
