import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isMountPoint, unmount } from '../../src/sys/mount.js';

const notRoot = process.getuid?.() !== 0 && 'mounting needs root';

describe('isMountPoint and unmount', { skip: notRoot }, () => {
  let dir: string;
  const mounted: string[] = [];
  const mount = (...args: string[]): void => {
    execFileSync('mount', args);
    mounted.push(args[args.length - 1]!);
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-mount-'));
    for (const d of ['plain', 'tmpfs', 'source', 'bound']) fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, 'file'), '');
    mount('-t', 'tmpfs', 'tmpfs', path.join(dir, 'tmpfs'));
    // A bind mount within the same filesystem: the device alone cannot tell it.
    mount('--bind', path.join(dir, 'source'), path.join(dir, 'bound'));
    fs.symlinkSync(path.join(dir, 'tmpfs'), path.join(dir, 'link'));
  });

  after(() => {
    // The second test unmounts them; these are for a test that failed before it did.
    for (const m of mounted.reverse()) if (isMountPoint(m)) execFileSync('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tells mount points from plain directories and files, without following a symlink', () => {
    assert.equal(isMountPoint(path.join(dir, 'tmpfs')), true, 'another filesystem');
    assert.equal(isMountPoint(path.join(dir, 'bound')), true, 'a bind mount from the same filesystem');
    assert.equal(isMountPoint(path.join(dir, 'plain')), false);
    assert.equal(isMountPoint(path.join(dir, 'source')), false);
    assert.equal(isMountPoint(path.join(dir, 'file')), false);
    assert.equal(isMountPoint(path.join(dir, 'link')), false, 'a symlink to a mount point is not one');
    assert.equal(isMountPoint(path.join(dir, 'missing')), false);
  });

  it('unmounts what is mounted, either kind, and leaves the rest alone', async () => {
    fs.writeFileSync(path.join(dir, 'source', 'kept'), 'x');
    await unmount(path.join(dir, 'bound'));
    await unmount(path.join(dir, 'tmpfs'));
    await unmount(path.join(dir, 'plain'));
    await unmount(path.join(dir, 'missing'));
    assert.equal(isMountPoint(path.join(dir, 'bound')), false);
    assert.equal(isMountPoint(path.join(dir, 'tmpfs')), false);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'bound')), [], 'the bind mount is gone, its source untouched');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'source')), ['kept']);
  });
});
