import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, findNetworkConfig, findPlugin, parseNetworkConfig } from '../../src/network/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-conf-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(tmp, 'd'));
  for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(d, n), t);
  return d;
}

const list = (extra: object = {}): string => JSON.stringify({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'bridge' }], ...extra });

describe('CNI network config', () => {
  it('wraps a single-plugin .conf as a list of one', () => {
    const l = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'one', type: 'bridge', bridge: 'cni0' }), true);
    assert.equal(l.name, 'one');
    assert.equal(l.cniVersion, '0.4.0');
    assert.equal(l.plugins.length, 1);
    assert.equal(l.plugins[0]?.type, 'bridge');
    assert.equal(l.disableCheck, false);
  });

  it('refuses what libcni refuses, saying why', () => {
    const bad: [string, RegExp][] = [
      ['not json', /invalid JSON/],
      ['[]', /not a JSON object/],
      [JSON.stringify({ cniVersion: '1.0.0', plugins: [{ type: 'x' }] }), /invalid network name/],
      [list({ name: '-dash' }), /invalid network name/],
      [list({ cniVersion: '0.2.0' }), /unsupported cniVersion "0.2.0"/],
      [list({ cniVersion: 1 }), /unsupported cniVersion/],
      [list({ plugins: [] }), /no plugins/],
      [list({ plugins: [{ type: '../../bin/sh' }] }), /invalid plugin type/],
      [list({ plugins: [{ type: '.hidden' }] }), /invalid plugin type/],
      [list({ plugins: [{ type: 'bridge', capabilities: [] }] }), /capabilities is not an object/],
      [list({ disableCheck: 'yes' }), /disableCheck/],
    ];
    for (const [text, why] of bad)
      assert.throws(
        () => parseNetworkConfig(text, false),
        (e: Error) => e instanceof ConfigError && why.test(e.message),
        text,
      );
  });

  it('takes the first valid file in name order, skipping invalid ones and other extensions', () => {
    const d = dir({
      '00-broken.conflist': '{',
      '05-notes.txt': list({ name: 'txt' }),
      '10-b.conf': JSON.stringify({ cniVersion: '1.0.0', name: 'single', type: 'bridge' }),
      '20-a.conflist': list({ name: 'second' }),
    });
    const found = findNetworkConfig(d);
    assert.equal(found.list?.name, 'single');
    assert.equal(found.file, path.join(d, '10-b.conf'));
    assert.match(found.problems[0] ?? '', /00-broken\.conflist: invalid JSON/);
  });

  it('says why there is none: missing dir, empty dir, a file too large, a directory named like a config', () => {
    assert.match(findNetworkConfig(path.join(tmp, 'absent')).problems[0] ?? '', /cannot read .*ENOENT/);
    assert.match(findNetworkConfig(dir({})).problems[0] ?? '', /no network config found/);
    const d = dir({ '10-big.conflist': `${list()}${' '.repeat(1024 * 1024)}` });
    fs.mkdirSync(path.join(d, '05-dir.conf'));
    const found = findNetworkConfig(d);
    assert.equal(found.list, undefined);
    assert.match(found.problems.join('\n'), /05-dir\.conf: is a directory/);
    assert.match(found.problems.join('\n'), /10-big\.conflist: larger than the limit of 1 MiB/);
  });

  it('finds a plugin in the first bin dir that has it as an executable file', () => {
    const a = dir({ bridge: '' });
    const b = dir({ bridge: '#!/bin/sh\n' });
    fs.chmodSync(path.join(b, 'bridge'), 0o755);
    fs.mkdirSync(path.join(a, 'loopback'));
    assert.equal(findPlugin('bridge', [a, b]), path.join(b, 'bridge'));
    assert.equal(findPlugin('loopback', [a]), undefined);
    assert.equal(findPlugin('nothing', [a, b]), undefined);
  });
});
