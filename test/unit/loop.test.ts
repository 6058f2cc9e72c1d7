import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachLoop, detachLoop, loopDevicesOf } from '../../src/sys/loop.js';
import { which } from '../../src/sys/which.js';

const why =
  process.getuid?.() !== 0
    ? 'needs root'
    : !which('losetup')
      ? 'losetup is not installed'
      : !fs.existsSync('/dev/loop-control')
        ? 'no /dev/loop-control here'
        : undefined;

describe('loop devices', { skip: why ?? false }, () => {
  let dir = '';
  let file = '';
  const attached: string[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-loop-'));
    file = path.join(dir, 'disk.img');
    fs.writeFileSync(file, Buffer.alloc(1024 * 1024));
  });
  // Detach before deleting the file: a device bound to a deleted file can no longer be found by it.
  after(async () => {
    for (const dev of [...attached, ...(file ? await loopDevicesOf(file) : [])]) await detachLoop(dev);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('attaches read-only, finds the device by its file, detaches', async () => {
    const dev = await attachLoop(file, true);
    attached.push(dev);
    assert.match(dev, /^\/dev\/loop[0-9]+$/);
    assert.ok(fs.statSync(dev).isBlockDevice());
    assert.equal(fs.readFileSync(`/sys/block/${path.basename(dev)}/ro`, 'utf8').trim(), '1');
    assert.deepEqual(await loopDevicesOf(file), [dev]);
    await detachLoop(dev);
    assert.deepEqual(await loopDevicesOf(file), []);
    // Detaching again is not an error.
    await detachLoop(dev);
  });

  it('a file with no device, or no file at all, has no devices', async () => {
    assert.deepEqual(await loopDevicesOf(file), []);
    assert.deepEqual(await loopDevicesOf(path.join(dir, 'missing.img')), []);
  });

  it("failures carry losetup's message on one line", async () => {
    await assert.rejects(attachLoop(path.join(dir, 'missing.img'), true), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^losetup --find --show --read-only .*missing\.img failed: (?!losetup: ).+/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    await assert.rejects(detachLoop(path.join(dir, 'not-a-device')), /^Error: losetup -d .*not-a-device failed: .*not-a-device: /);
  });
});
