/**
 * Two pulls at once of two images that share layers fetch each shared layer from the registry
 * once (issue 16): counted in the registry's own access log, not in the engine's output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { show } from '../helpers/cli.js';
import type { RunResult } from '../helpers/engine.js';
import { TestEngine } from '../helpers/engine.js';
import { bigImage, bigPrefixImage, layoutManifest, pushImage, readBlob } from '../helpers/oci-images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

/** The layers both images have: big's first SHARED layers (the busybox base and two of 25 MB). */
const SHARED = 3;

describe('concurrent pulls of images sharing layers', { timeout: 10 * 60_000 }, () => {
  let reg: TestRegistry;
  let engine: TestEngine;
  let shared: string[];

  before(async () => {
    reg = await startRegistry({ accessLog: true });
    const big = bigImage();
    pushImage(big, reg, 'big:1');
    pushImage(bigPrefixImage(SHARED), reg, 'part:1');
    const manifest = JSON.parse(readBlob(big.layout, layoutManifest(big.layout, big.tag).digest).toString()) as { layers: { digest: string }[] };
    shared = manifest.layers.slice(0, SHARED).map((l) => l.digest);
    engine = await TestEngine.start([], { 'insecure-registries': [reg.host] });
  });

  after(async () => {
    await engine?.cleanup();
    await reg?.stop();
  });

  /** GETs of a blob, under any repository, since the log's line `from`. */
  const blobGets = (digest: string, from: number): number =>
    reg
      .requests()
      .slice(from)
      .filter((r) => r.startsWith('GET ') && r.endsWith(`/blobs/${digest}`)).length;

  /** The first status a pull shows for a layer: `Already exists` when the other pull had committed it before this one looked. */
  const firstStatus = (r: RunResult, digest: string): string | undefined =>
    [...r.stdout.matchAll(new RegExp(`^${digest.slice(7, 19)}: (.+)$`, 'gm'))].map((m) => m[1]).at(0);

  it('fetches each shared layer once, and both images run', async () => {
    // The pulls must overlap on the shared layers to prove the sharing; on a loaded machine one
    // may finish them before the other looks (it then finds them present): try again, at most thrice.
    let overlapped = false;
    for (let round = 0; round < 3 && !overlapped; round++) {
      const from = reg.requests().length;
      const [a, b] = await Promise.all([
        engine.isula(['pull', `${reg.host}/big:1`], { timeoutMs: 180_000 }),
        engine.isula(['pull', `${reg.host}/part:1`], { timeoutMs: 180_000 }),
      ]);
      assert.equal(a.code, 0, show(a));
      assert.equal(b.code, 0, show(b));
      for (const d of shared) assert.equal(blobGets(d, from), 1, `GETs of the shared layer ${d} in round ${round}`);
      overlapped = shared.some((d) => firstStatus(a, d) === 'Waiting' && firstStatus(b, d) === 'Waiting');
      const run = await engine.isula(['run', '--rm', `${reg.host}/part:1`, 'ls', '/big']);
      assert.equal(run.code, 0, show(run));
      assert.equal(run.stdout, '0.bin\n1.bin\n');
      const rmi = await engine.isula(['rmi', `${reg.host}/big:1`, `${reg.host}/part:1`]);
      assert.equal(rmi.code, 0, show(rmi));
    }
    assert.ok(overlapped, 'in none of three rounds did both pulls find the shared layers missing at once');
  });
});
