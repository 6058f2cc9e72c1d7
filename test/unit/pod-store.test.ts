import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { PodRecord } from '../../src/pod/record.js';
import { PodStore } from '../../src/pod/store.js';
import type { Logger } from '../../src/sys/log.js';

const ID = 'a'.repeat(64);
const quiet = { warn: () => undefined } as unknown as Logger;

const record = (state: PodRecord['state']): PodRecord =>
  ({
    id: ID,
    config: { name: 'p' },
    createdAt: '1',
    state,
    networkAttached: state === 'ready',
    ips: state === 'ready' ? ['10.0.0.2'] : [],
  }) as unknown as PodRecord;

describe('PodStore', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-pods-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a delete asked while a save is under way comes after it: nothing is left on disk or in memory', async () => {
    const store = new PodStore(root);
    await store.save(record('ready'));
    const saved = store.save(record('notready'));
    const deleted = store.delete(ID);
    await Promise.all([saved, deleted]);
    assert.equal(store.find(ID), undefined);
    assert.deepEqual(fs.readdirSync(root), []);
    assert.deepEqual(new PodStore(root).load(quiet).loaded, []);
  });

  it('saves asked one after the other land in that order', async () => {
    const store = new PodStore(root);
    await Promise.all([store.save(record('ready')), store.save(record('notready'))]);
    const { loaded } = new PodStore(root).load(quiet);
    assert.equal(loaded[0]?.state, 'notready');
  });
});
