import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../../src/sys/spawner.js';

test('runCommand: status and the first line of stderr', async () => {
  assert.deepEqual(await runCommand('true', []), { code: 0, stderr: '' });
  assert.equal((await runCommand('false', [])).code, 1);
  const r = await runCommand('sh', ['-c', 'echo out; echo first >&2; echo second >&2; exit 3']);
  assert.deepEqual(r, { code: 3, stderr: 'first' });
  assert.equal((await runCommand('no-such-command-here', [])).code, 127);
});

test('runCommand: arguments are data, never shell code', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spawner-'));
  try {
    const hostile = ["a'b", '$(touch pwned)', '`touch pwned2`', 'x\ny; touch pwned3', '"; touch pwned4; "', '\\', '*'];
    for (const h of hostile) {
      const r = await runCommand('sh', ['-c', 'printf %s "$1" > got; printf %s "$1" >&2', 'sh', h], { cwd: dir });
      assert.equal(r.code, 0);
      assert.equal(fs.readFileSync(path.join(dir, 'got'), 'utf8'), h);
      assert.equal(r.stderr, h.split('\n')[0]);
    }
    assert.deepEqual(fs.readdirSync(dir), ['got']);
    await assert.rejects(runCommand('true', ['a\0b']), /NUL/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runCommand: many at once, each its own answer; a timeout kills the command', async () => {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => runCommand('sh', ['-c', `echo e${i} >&2; exit ${i % 7}`])));
  for (const [i, r] of rs.entries()) assert.deepEqual(r, { code: i % 7, stderr: `e${i}` });
  const t = Date.now();
  await assert.rejects(runCommand('sleep', ['30'], { timeoutMs: 200 }), /timed out/);
  assert.ok(Date.now() - t < 5000);
  assert.equal((await runCommand('true', [])).code, 0);
});
