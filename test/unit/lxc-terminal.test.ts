import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { executableInRoot, withControllingTerminal } from '../../src/runtime/lxc/terminal.js';

describe('a rootfs shell for the controlling terminal', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-root-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'bin'));
  fs.writeFileSync(path.join(root, 'bin', 'busybox'), '', { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'bin', 'data'), '', { mode: 0o644 });
  fs.symlinkSync('/bin/busybox', path.join(root, 'bin', 'sh'));
  fs.symlinkSync('../../../../../../bin/sh', path.join(root, 'bin', 'up'));
  fs.symlinkSync('/usr/bin/env', path.join(root, 'bin', 'host'));
  fs.symlinkSync('loop2', path.join(root, 'bin', 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'bin', 'loop2'));

  it('follows symlinks as the container sees them, never out of the root', () => {
    assert.equal(executableInRoot(root, '/bin/sh'), true);
    assert.equal(executableInRoot(root, '/bin/up'), true, '.. stops at the root');
    assert.equal(executableInRoot(root, '/bin/host'), false, 'the host has /usr/bin/env; the root does not');
    assert.equal(executableInRoot(root, '/bin/data'), false, 'not executable');
    assert.equal(executableInRoot(root, '/bin'), false, 'a directory');
    assert.equal(executableInRoot(root, '/bin/data/x'), false);
    assert.equal(executableInRoot(root, '/bin/loop1'), false);
    assert.equal(executableInRoot(root, '/nope'), false);
  });

  it('wraps the command only when the rootfs has a shell', () => {
    assert.deepEqual(withControllingTerminal(root, ['top', '-b']).slice(0, 2), ['/bin/sh', '-c']);
    assert.deepEqual(withControllingTerminal(root, ['top', '-b']).slice(3), ['sh', 'top', '-b']);
    assert.deepEqual(withControllingTerminal(path.join(root, 'bin'), ['top']), ['top']);
  });
});
