import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LxcLayout } from '../../src/runtime/lxc/layout.js';
import { RunTracker } from '../../src/runtime/lxc/runs.js';
import { createLogger } from '../../src/sys/log.js';
import { readProcStat } from '../../src/sys/procfs.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-runs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const layout = new LxcLayout(path.join(root, 'graph'), path.join(root, 'state'), 'lxc.monitor');
layout.makeDirs();
const runs = new RunTracker(layout, createLogger({ write: () => undefined }, 'ERROR'));

/** A child that ends when told (its stdin closes), as lxc-start ends after its container. */
function helper(): { pid: number; startTime: number; end: () => void; ended: Promise<void> } {
  const child = spawn('sh', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, startTime: readProcStat(child.pid!)!.startTime, end: () => child.stdin.end(), ended };
}

describe('LXC run helpers', () => {
  it("learns of a launched helper's end from its exit, not from /proc", async () => {
    const h = helper();
    runs.launched('a'.repeat(64), h.pid, h.ended);
    assert.equal(await runs.helperEnded(h.pid, h.startTime, 50), false, 'still running');
    const t = Date.now();
    setTimeout(h.end, 100);
    assert.equal(await runs.helperEnded(h.pid, h.startTime, 5000), true);
    assert.ok(Date.now() - t < 2000);
    assert.equal(await runs.helperEnded(h.pid, h.startTime, 50), true, 'gone stays gone');
  });

  it('polls a helper it did not launch, and knows an older helper under a reused pid has ended', async () => {
    const h = helper();
    setTimeout(h.end, 50);
    assert.equal(await runs.helperEnded(h.pid, h.startTime, 5000), true);
    const mine = helper();
    runs.launched('b'.repeat(64), mine.pid, mine.ended);
    assert.equal(await runs.helperEnded(mine.pid, mine.startTime - 1, 5000), true, 'not the process asked about');
    mine.end();
    await mine.ended;
  });
});
