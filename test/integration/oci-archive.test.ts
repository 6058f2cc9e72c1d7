import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { show } from '../helpers/cli.js';
import { ISULA, TestEngine, type RunResult } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * load / save / import / export end to end with the real daemon: archives written by skopeo
 * (an independent implementation) from the busybox test image, the daemon's own save read
 * back by skopeo and by load, export → import → run, and hostile archives refused with
 * nothing added.
 */

const ok = (r: RunResult, what = ''): string => {
  assert.equal(r.code, 0, `${what}\n${show(r)}`);
  return r.stdout;
};
/** Listing of a tar file by GNU tar, names without a leading `./`. */
const tarNames = (file: string): string[] =>
  execFileSync('tar', ['-tf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .filter(Boolean)
    .map((n) => n.replace(/^\.\//, '').replace(/\/$/, ''));

let engine: TestEngine;
let dir = '';
const sh = (script: string): RunResult => {
  try {
    return { code: 0, stdout: execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, ISULA, HOST: engine.host } }), stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, stdout: String(err.stdout), stderr: String(err.stderr) };
  }
};
const isula = (...args: string[]): Promise<RunResult> => engine.isula(args, { timeoutMs: 120_000 });

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-test-archive-'));
  engine = await TestEngine.start();
});
after(async () => {
  await engine?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('export of an external rootfs container', () => {
  it('exports the rootfs directory as it is', async () => {
    const rootfs = busyboxRootfs();
    ok(await isula('create', '--name', 'ext', '--external-rootfs', rootfs, 'none', 'true'));
    const file = path.join(dir, 'ext.tar');
    ok(await isula('export', '--output', file, 'ext'));
    const names = tarNames(file);
    assert.ok(names.includes('bin/busybox'));
    // To stdout when it is not a terminal; the same members.
    ok(sh(`"$ISULA" -H "$HOST" export ext > ${dir}/ext2.tar`), 'export to stdout');
    assert.deepEqual(tarNames(path.join(dir, 'ext2.tar')), names);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    ok(await isula('rm', 'ext'));
    const r = await isula('export', 'no-such-container');
    assert.notEqual(r.code, 0);
  });
});
