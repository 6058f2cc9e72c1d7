import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { describeLxcError, firstLxcFailure, withoutAttachErrors } from '../../src/runtime/lxc/errors.js';
import { startFailureCode } from '../../src/cli/stream.js';

describe('LXC errors as users read them', () => {
  const cases: [string, string, number | undefined][] = [
    ['No such file or directory - Failed to exec "nosuch"', 'exec: "nosuch": executable file not found in $PATH', 127],
    ['No such file or directory - Failed to exec "/bin/x"', 'exec: "/bin/x": no such file or directory', 127],
    ['Permission denied - Failed to exec "/etc"', 'exec: "/etc": permission denied', 126],
    ['Exec format error - Failed to exec "/bin/x"', 'exec: "/bin/x": exec format error', undefined],
    ['Not a directory - Could not change directory to "/etc/hostname"', 'chdir to working directory "/etc/hostname" failed: not a directory', 127],
    [
      'Not a directory - Failed to mount "/etc/hostname" onto "/usr/lib/x86_64-linux-gnu/lxc/rootfs/bin"',
      'error mounting "/etc/hostname" to rootfs at "/bin": not a directory',
      127,
    ],
    [
      'No such file or directory - Failed to create directory "/usr/lib/aarch64-linux-gnu/lxc/rootfs/proc/x"',
      'error creating mount point "/proc/x" in rootfs: no such file or directory',
      127,
    ],
    ['Failed to setup mount entries', 'failed to setup mount entries', undefined],
  ];
  for (const [lxc, user, code] of cases) {
    it(`${lxc} -> ${user} (exit ${code ?? 'unchanged'})`, () => {
      assert.equal(describeLxcError(lxc), user);
      assert.equal(startFailureCode(user), code);
    });
  }

  it('the first ERROR line of a log is the cause; the monitor noise and later fallout are skipped', () => {
    const log = [
      'lxc-start c1 20261204141103.161 WARN     start - ../src/lxc/start.c:lxc_check_inherited:329 - Inherited fd 251',
      'lxc-start c1 20261204141103.170 ERROR    conf - ../src/lxc/conf.c:x:1 - Unsupported config key "lxc.seccomp"',
      'lxc-start c1 20261204141103.196 ERROR    start - ../src/lxc/start.c:start:2197 - No such file or directory - Failed to exec "nosuch"',
      'lxc-start c1 20261204141103.196 ERROR    start - ../src/lxc/start.c:__lxc_start:2107 - Failed to spawn container "c1"',
    ].join('\n');
    assert.equal(firstLxcFailure(log), 'exec: "nosuch": executable file not found in $PATH');
    assert.equal(firstLxcFailure('lxc-start c1 1 INFO start - a.c:f:1 - fine\n'), undefined);
  });

  const filtered = async (chunks: string[]): Promise<string> => {
    const source = new PassThrough();
    const out = withoutAttachErrors(source);
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const ended = new Promise((resolve) => out.on('end', resolve));
    for (const c of chunks) source.write(c);
    source.end();
    await ended;
    return text;
  };

  it("drops lxc-attach's own leading lines, even split across chunks, and passes the rest unchanged", async () => {
    const line = 'lxc-attach: c1: ../src/lxc/attach.c: lxc_attach_run_command: 1841 No such file or directory - Failed to exec "x"\n';
    assert.equal(await filtered([line]), '');
    assert.equal(await filtered([line.slice(0, 5), line.slice(5, 30), line.slice(30), 'real\n']), 'real\n');
    assert.equal(await filtered(['l', 's output\n', line]), `ls output\n${line}`);
    assert.equal(await filtered(['prompt> ']), 'prompt> ');
  });
});
