import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeNewFilesDurably } from '../../src/sys/atomic-write.js';
import { DurableFile } from '../../src/sys/durable-file.js';

describe('DurableFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-df-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a save settles with its content on disk and no temp file left', async () => {
    const state = { n: 1 };
    const file = new DurableFile(path.join(dir, 'config.v2.json'), () => JSON.stringify(state));
    await file.save();
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.v2.json'), 'utf8')), { n: 1 });
    assert.deepEqual(fs.readdirSync(dir), ['config.v2.json']);
  });

  it('saves asked for during a write are folded into one more write carrying the newest state', async () => {
    const state = { n: 0 };
    let renders = 0;
    const file = new DurableFile(path.join(dir, 'f'), () => {
      renders++;
      return String(state.n);
    });
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 10; i++) {
      state.n = i;
      saves.push(file.save());
    }
    // Each promise, once settled, finds at least its own state on disk.
    const seen = await Promise.all(saves.map((s) => s.then(() => Number(fs.readFileSync(path.join(dir, 'f'), 'utf8')))));
    for (const [i, n] of seen.entries()) assert.ok(n >= i + 1, `save ${i + 1} settled with ${n} on disk`);
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), '10');
    assert.ok(renders <= 2, `10 saves asked for at once took ${renders} writes`);
  });

  it('a failed write rejects its save; the next save writes again', async () => {
    const sub = path.join(dir, 'sub');
    const file = new DurableFile(path.join(sub, 'f'), () => 'x');
    await assert.rejects(file.save(), { code: 'ENOENT' });
    fs.mkdirSync(sub);
    await file.save();
    assert.equal(fs.readFileSync(path.join(sub, 'f'), 'utf8'), 'x');
  });

  it('after close, saves not yet begun write nothing (the directory is being deleted)', async () => {
    const file = new DurableFile(path.join(dir, 'f'), () => 'x');
    await file.save();
    fs.rmSync(path.join(dir, 'f'));
    const pending = file.save();
    await file.close();
    await pending;
    await file.save();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

describe('writeNewFilesDurably', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-nf-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes new files with their modes, and no temp file', async () => {
    await writeNewFilesDurably(dir, [
      ['config.v2.json', '{"a":1}', 0o640],
      ['hostconfig.json', '{"b":2}', 0o600],
    ]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['config.v2.json', 'hostconfig.json']);
    assert.equal(fs.readFileSync(path.join(dir, 'config.v2.json'), 'utf8'), '{"a":1}');
    assert.equal(fs.statSync(path.join(dir, 'hostconfig.json')).mode & 0o777, 0o600);
  });

  it('refuses a file that exists, leaving it as it was and removing the ones it made', async () => {
    fs.writeFileSync(path.join(dir, 'hostconfig.json'), 'old');
    await assert.rejects(
      writeNewFilesDurably(dir, [
        ['config.v2.json', '{}', 0o640],
        ['hostconfig.json', '{}', 0o640],
      ]),
      { code: 'EEXIST' },
    );
    assert.deepEqual(fs.readdirSync(dir), ['hostconfig.json']);
    assert.equal(fs.readFileSync(path.join(dir, 'hostconfig.json'), 'utf8'), 'old');
  });
});
