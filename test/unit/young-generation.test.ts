import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { describe, it } from 'node:test';
import { warmUnpackThread } from '../../src/image/oci/storage/unpack-thread.js';
import { holdYoungGeneration } from '../../src/sys/young-generation.js';

const newSpaceMb = (): number => (v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0) / 2 ** 20;

describe('young generation', () => {
  // V8 sets the process-wide growth factor back to 2 when it configures a worker's heap: the
  // daemon's young generation then grew to 27 MB over CRI lifecycles after the first pull.
  it('stays at its size once the layer unpacking thread has started', async () => {
    holdYoungGeneration();
    warmUnpackThread();
    // The thread online (its heap configured): a start takes 30 ms or more of CPU.
    await new Promise((r) => setTimeout(r, 2000));
    // Bursts whose objects survive a scavenge or two: what makes V8 grow the young generation.
    let keep: object[] = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20_000; i++) keep.push({ i, s: `x${i}` });
      await new Promise((r) => setImmediate(r));
      if (keep.length > 200_000) keep = [];
    }
    assert.ok(newSpaceMb() <= 4, `young generation ${newSpaceMb().toFixed(1)} MB`);
  });
});
