import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { show } from '../helpers/cli.js';
import { ISULA, run, TestEngine, type RunResult } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * The client's unix-socket connection sits on libuv's pipe handle, reached through the
 * deprecated process.binding. A Node without it (or whose binding throws), made here by a
 * preload in NODE_OPTIONS, must still give a working client, over node:net.
 */
describe('the client on a Node without process.binding', () => {
  let engine: TestEngine;
  const preloads: Record<string, string> = {};
  before(async () => {
    engine = await TestEngine.start();
    const write = (name: string, text: string): string => {
      const file = path.join(engine.dir, name);
      fs.writeFileSync(file, text);
      return file;
    };
    preloads.gone = write('binding-gone.cjs', 'delete process.binding;\n');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the string is JavaScript source for the preload file
    preloads.throwing = write('binding-throws.cjs', 'process.binding = (name) => { throw new Error(`No such module: ${name}`); };\n');
  });
  after(() => engine.cleanup());

  const isula = (preload: string, args: string[], host = engine.host, input?: string): Promise<RunResult> =>
    run(ISULA, ['-H', host, ...args], {
      env: { ...process.env, NODE_OPTIONS: `--require ${preloads[preload]}` },
      timeoutMs: 20_000,
      ...(input === undefined ? {} : { input }),
    });

  for (const preload of ['gone', 'throwing']) {
    it(`talks to the daemon as usual (process.binding ${preload})`, async () => {
      const version = await isula(preload, ['version']);
      assert.equal(version.code, 0, show(version));
      assert.match(version.stdout, /^Server:/m, show(version));
      // A container's output and input are streams both ways on the same connection.
      const r = await isula(
        preload,
        ['run', '--rm', '-i', '--external-rootfs', busyboxRootfs(), 'none', 'sh', '-c', 'cat; echo done'],
        engine.host,
        'from stdin\n',
      );
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout, 'from stdin\ndone\n');
      const ps = await isula(preload, ['ps', '-a', '-q']);
      assert.equal(ps.code, 0, show(ps));
      assert.equal(ps.stdout, '');
    });

    it(`says a daemon is not running as usual (process.binding ${preload})`, async () => {
      const host = `unix://${path.join(engine.dir, 'nothing.sock')}`;
      const r = await isula(preload, ['ps'], host);
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stderr, `Cannot connect to the isulad daemon at ${host} (ENOENT). Is the daemon running?\n`);
    });
  }
});
