import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressPrinter } from '../../src/cli/format/progress.js';
import { mergeImageConfig } from '../../src/container/create.js';
import { HEALTH_DEFAULTS } from '../../src/container/health.js';
import type { ImageConfig } from '../../src/image/image.js';

const image: ImageConfig = {
  env: ['PATH=/bin'],
  entrypoint: ['/entry'],
  cmd: ['default', 'args'],
  workdir: '/w',
  user: 'nobody',
  healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 2 },
};

describe("Docker's merge of an image config at create", () => {
  it("keeps the image's entrypoint and command when the user gives neither", () => {
    const m = mergeImageConfig({ cmd: [] }, image, undefined);
    assert.deepEqual([m.entrypoint, m.cmd, m.user], [['/entry'], ['default', 'args'], 'nobody']);
  });

  it("replaces the image's command with the arguments, keeping its entrypoint", () => {
    const m = mergeImageConfig({ cmd: ['x'] }, image, undefined);
    assert.deepEqual([m.entrypoint, m.cmd], [['/entry'], ['x']]);
  });

  it("--entrypoint drops the image's command; --entrypoint '' clears the entrypoint", () => {
    assert.deepEqual(mergeImageConfig({ cmd: [], entrypoint: ['/other'] }, image, undefined).cmd, []);
    const cleared = mergeImageConfig({ cmd: [], entrypoint: [] }, image, undefined);
    assert.deepEqual([cleared.entrypoint, cleared.cmd], [[], []]);
  });

  it('-u wins over the image user', () => {
    assert.equal(mergeImageConfig({ cmd: [], user: '0' }, image, undefined).user, '0');
  });

  it("takes the image's health check in milliseconds, with defaults for what it leaves out; NONE disables it", () => {
    const h = mergeImageConfig({ cmd: [] }, image, undefined).healthcheck!;
    assert.deepEqual([h.Test, h.IntervalMs, h.TimeoutMs, h.Retries], [['CMD-SHELL', 'true'], 5000, HEALTH_DEFAULTS.timeoutMs, 2]);
    assert.equal(mergeImageConfig({ cmd: [] }, { ...image, healthcheck: { Test: ['NONE'] } }, undefined).healthcheck, undefined);
  });
});

describe('pull progress output', () => {
  it('prints a plain line per change of status when not on a terminal, never per chunk', () => {
    let out = '';
    const p = new ProgressPrinter((t) => (out += t), false);
    p.update({ status: 'latest: Pulling from busybox' });
    p.update({ layer: { id: 'abc', status: 'Waiting' } });
    p.update({ layer: { id: 'abc', status: 'Downloading', current: 1, total: 10 } });
    p.update({ layer: { id: 'abc', status: 'Downloading', current: 5, total: 10 } });
    p.update({ layer: { id: 'abc', status: 'Pull complete' } });
    assert.equal(out, 'latest: Pulling from busybox\nabc: Waiting\nabc: Downloading\nabc: Pull complete\n');
  });

  it('redraws a layer line in place with a bar on a terminal', () => {
    let out = '';
    const p = new ProgressPrinter((t) => (out += t), true);
    p.update({ layer: { id: 'a', status: 'Waiting' } });
    p.update({ layer: { id: 'b', status: 'Waiting' } });
    out = '';
    p.update({ layer: { id: 'a', status: 'Downloading', current: 5, total: 10 } });
    const esc = String.fromCharCode(27);
    assert.ok(out.startsWith(`${esc}[2A\r${esc}[2Ka: Downloading [`), JSON.stringify(out));
    assert.ok(out.endsWith(`]  5B/10B${esc}[2B\r`), JSON.stringify(out));
  });
});
