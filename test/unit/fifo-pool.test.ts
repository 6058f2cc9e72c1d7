import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FifoPool } from '../../src/sys/fifo.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-fifo-pool-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const isFifo = (f: string): boolean => fs.statSync(f).isFIFO();

describe('FifoPool', () => {
  it('puts FIFOs where asked, refilling by batches, and keeps the ones already there', async () => {
    const poolDir = path.join(root, 'pool');
    fs.mkdirSync(poolDir);
    fs.writeFileSync(path.join(poolDir, '0'), 'a previous daemon left this');
    const pool = new FifoPool(poolDir, 2);
    const dest = path.join(root, 'c1');
    fs.mkdirSync(dest);
    const files = ['stdout', 'stderr', 'stdin', 'a', 'b'].map((n) => path.join(dest, n));
    await pool.place(files);
    for (const f of files) assert.ok(isFifo(f), f);
    const stdout = fs.statSync(files[0]!).ino;
    await pool.place(files);
    assert.equal(fs.statSync(files[0]!).ino, stdout, 'an existing FIFO stays');
    assert.equal((fs.statSync(files[0]!).mode & 0o777).toString(8), '600');
  });

  it('serves concurrent callers from shared batches', async () => {
    const pool = new FifoPool(path.join(root, 'pool2'), 3);
    const dirs = Array.from({ length: 5 }, (_, i) => path.join(root, `d${i}`));
    for (const d of dirs) fs.mkdirSync(d);
    await Promise.all(dirs.map((d) => pool.place([path.join(d, 'stdout'), path.join(d, 'stderr')])));
    for (const d of dirs) for (const n of ['stdout', 'stderr']) assert.ok(isFifo(path.join(d, n)));
    const left = fs.readdirSync(path.join(root, 'pool2')).length;
    assert.ok(left < 3, `at most one batch made beyond need, ${left} spare`);
  });
});
