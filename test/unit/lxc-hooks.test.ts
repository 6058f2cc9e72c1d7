import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { exitCodeInLog, renderPostStopHook } from '../../src/runtime/lxc/scripts.js';
import { readTail } from '../../src/sys/bounded-read.js';
import { readExitRecord } from '../../src/sys/exit-record.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-hook-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const exits = path.join(root, 'exits');
const state = path.join(root, 'state');
const hook = path.join(root, 'record-exit');
fs.mkdirSync(exits);
fs.writeFileSync(hook, renderPostStopHook(exits, state), { mode: 0o755 });
let n = 0;

/** A container directory whose lxc.log says how init `pid` ended; its reader file as given. */
function container(logLine: string, reader?: string): { id: string; env: NodeJS.ProcessEnv } {
  const id = `c${n++}`;
  const dir = path.join(root, id);
  fs.mkdirSync(dir);
  fs.mkdirSync(path.join(state, id), { recursive: true });
  fs.writeFileSync(path.join(dir, 'lxc.log'), `lxc-start ${id} 20261127 INFO start - start.c:1 - Started\n${logLine}\n`);
  if (reader !== undefined) fs.writeFileSync(path.join(state, id, 'reader'), reader);
  return { id, env: { ...process.env, LXC_CONFIG_FILE: path.join(dir, 'config'), LXC_PID: '4242', LXC_NAME: id } };
}

const recorded = (id: string): string | undefined => readExitRecord(path.join(exits, id));
const deadPid = (): number => spawnSync('true').pid!;

describe('LXC post-stop hook', () => {
  it('records which init ended, with no process of its own', () => {
    const c = container('lxc-start c 20261127 INFO start - start.c:2 - Child <4242> ended on error (42)', `${process.pid}\n`);
    const traced = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve', 'sh', hook], { env: c.env, encoding: 'utf8' });
    if (traced.error) assert.equal(spawnSync('sh', [hook], { env: c.env }).status, 0);
    else {
      assert.equal(traced.status, 0);
      assert.equal(traced.stderr.split('\n').filter((l) => l.includes('execve(')).length, 1, `only the shell runs:\n${traced.stderr}`);
    }
    assert.equal(recorded(c.id), 'pid 4242');
  });

  it("reads the init's exit code from LXC's log line", () => {
    const log = (line: string): string =>
      `lxc-start c 20261127 INFO start - start.c:1 - Started\n${line}\nlxc-start c 20261127 INFO conf - conf.c:3 - Executing script\n`;
    assert.equal(exitCodeInLog(log('lxc-start c 20261127 INFO start - start.c:2 - Child <4242> ended on error (42)'), '4242'), 42);
    assert.equal(exitCodeInLog(log('lxc-start c 20261127 INFO start - start.c:2 - Child <4242> ended on signal Killed(9)'), '4242'), 137);
    assert.equal(
      exitCodeInLog(log('lxc-start c 20261127 INFO start - start.c:2 - Child <999> ended on error (1)'), '4242'),
      0,
      'a line about another pid does not count',
    );
    assert.equal(exitCodeInLog(log('lxc-start c 20261127 INFO start - start.c:2 - Started'), '4242'), 0, 'exit 0 logs no line');
    assert.equal(exitCodeInLog(log('lxc-start c 20261127 INFO start - start.c:2 - Child <4242> ended on error (3)'), ''), 0, 'no pid: no line of it');
    const two = `${log('x - Child <4242> ended on error (1)')}${log('x - Child <4242> ended on error (2)')}`;
    assert.equal(exitCodeInLog(two, '4242'), 2, 'the last run of that pid');
  });

  it('reads only the end of a large log, and nothing through a symlink', () => {
    const file = path.join(root, 'big.log');
    fs.writeFileSync(file, `${'x'.repeat(100_000)}\nx - Child <7> ended on error (9)\n`);
    const tail = readTail(file, 1024);
    assert.equal(tail.length, 1024);
    assert.equal(exitCodeInLog(tail, '7'), 9);
    fs.symlinkSync(file, path.join(root, 'link.log'));
    assert.equal(readTail(path.join(root, 'link.log'), 1024), '');
  });

  it('holds on (and so keeps lxc-start and its FIFOs) while the daemon reading the output is gone', async () => {
    const c = container('lxc-start c 20261127 INFO start - start.c:2 - Child <4242> ended on error (3)', `${deadPid()}\n`);
    const child = spawn('sh', [hook], { env: c.env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(child.exitCode, null, 'still waiting for a reader');
    assert.equal(recorded(c.id), 'pid 4242', 'the end is recorded before waiting');
    fs.writeFileSync(path.join(state, c.id, 'reader'), `${process.pid}\n`);
    assert.equal(await exited, 0);
  });

  it('an exit record counts only once its line is complete', () => {
    const file = path.join(root, 'record');
    fs.writeFileSync(file, '13');
    assert.equal(readExitRecord(file), undefined);
    fs.writeFileSync(file, '13\n');
    assert.equal(readExitRecord(file), '13');
    assert.equal(readExitRecord(path.join(root, 'none')), undefined);
  });
});
