import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanInRoot, ensureFileInRoot, InRootError, mkdirInRoot, readFileInRoot, resolveInRoot, writeFileInRoot } from '../../src/sys/in-root.js';
import { mountEntries, renderLxcConfig, type MountEntry } from '../../src/runtime/lxc/config.js';
import { prepareMountTargets } from '../../src/runtime/lxc/mount-targets.js';
import type { RuntimeSpec } from '../../src/runtime/runtime.js';
import { runtimeSpec } from '../helpers/runtime-spec.js';

/**
 * Paths from a rootfs resolved inside it (src/sys/in-root.ts) and the LXC mount targets made
 * with it: every case has a directory outside the root that must stay untouched.
 */

let base = '';
let root = '';
let outside = '';
let seq = 0;

before(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unit-inroot-')));
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

/** A fresh root and a fresh directory outside it for each test. */
function fresh(): void {
  seq++;
  root = path.join(base, `root${seq}`);
  outside = path.join(base, `outside${seq}`);
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
}
const untouched = (): void => assert.deepEqual(fs.readdirSync(outside), [], `${outside} must stay empty`);
const code =
  (c: InRootError['code']) =>
  (e: unknown): boolean =>
    e instanceof InRootError && e.code === c;

describe('cleanInRoot', () => {
  for (const [p, want] of [
    ['/../../x', '/x'],
    ['/a/./b/../c/', '/a/c'],
    ['..', '/'],
    ['', '/'],
    ['//etc//hosts', '/etc/hosts'],
    ['/a/../../../b/..', '/'],
  ] as const) {
    it(`${JSON.stringify(p)} -> ${want}`, () => assert.equal(cleanInRoot(p), want));
  }
});

describe('resolveInRoot', () => {
  it('an absolute symlink is re-rooted at the root', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync(outside, path.join(root, 'etc'));
    assert.equal(resolveInRoot(root, '/etc/hostname'), `${outside}/hostname`);
    fs.rmSync(path.join(root, 'etc'));
    fs.symlinkSync('/real', path.join(root, 'etc'));
    assert.equal(resolveInRoot(root, '/etc/hostname'), '/real/hostname');
  });
  it('a relative symlink cannot climb above the root', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
    fs.symlinkSync('../../../../../..', path.join(root, 'a/b/up'));
    assert.equal(resolveInRoot(root, '/a/b/up/etc/passwd'), '/etc/passwd');
    fs.symlinkSync('../x', path.join(root, 'a/b/sib'));
    assert.equal(resolveInRoot(root, 'a/b/sib/y'), '/a/x/y');
  });
  it('chains of symlinks, and a symlink as the last component, are followed inside', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'data'));
    fs.symlinkSync('/l2', path.join(root, 'l1'));
    fs.symlinkSync('data', path.join(root, 'l2'));
    fs.symlinkSync('/l1/file', path.join(root, 'last'));
    assert.equal(resolveInRoot(root, '/l1/x'), '/data/x');
    assert.equal(resolveInRoot(root, '/last'), '/data/file');
  });
  it('a symlink loop is ELOOP, a file in the middle is ENOTDIR', () => {
    fresh();
    fs.symlinkSync('/etc', path.join(root, 'etc'));
    assert.throws(() => resolveInRoot(root, '/etc/hostname'), code('ELOOP'));
    fs.writeFileSync(path.join(root, 'file'), '');
    assert.throws(() => resolveInRoot(root, '/file/x'), code('ENOTDIR'));
  });
  it('missing components are kept as given', () => {
    fresh();
    assert.equal(resolveInRoot(root, '/no/such/dir/../x'), '/no/such/x');
  });
});

describe('writeFileInRoot', () => {
  it('a rootfs whose etc is a symlink to a host directory: nothing is written there', () => {
    fresh();
    fs.symlinkSync(outside, path.join(root, 'etc'));
    assert.throws(() => writeFileInRoot(root, '/etc/hostname', 'h\n'), code('ENOENT'));
    fs.rmSync(path.join(root, 'etc'));
    fs.symlinkSync(`../../../../../../../..${outside}`, path.join(root, 'etc'));
    assert.throws(() => writeFileInRoot(root, '/etc/hostname', 'h\n'), code('ENOENT'));
    untouched();
  });
  it('etc pointing inside the rootfs is followed there', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'real-etc'));
    fs.symlinkSync('/real-etc', path.join(root, 'etc'));
    writeFileInRoot(root, '/etc/hostname', 'h\n');
    assert.equal(fs.readFileSync(path.join(root, 'real-etc/hostname'), 'utf8'), 'h\n');
  });
  it('a file that is a symlink to a host file is replaced inside, never written through', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(outside, 'resolv.conf'), 'host\n');
    fs.symlinkSync(path.join(outside, 'resolv.conf'), path.join(root, 'etc/resolv.conf'));
    // re-rooted: <root><outside>/resolv.conf, whose directory does not exist in the rootfs
    assert.throws(() => writeFileInRoot(root, '/etc/resolv.conf', 'x'), code('ENOENT'));
    assert.equal(fs.readFileSync(path.join(outside, 'resolv.conf'), 'utf8'), 'host\n');
  });
  it('replaces a regular file and creates a missing one', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/hosts'), 'old content that is longer');
    writeFileInRoot(root, '/etc/hosts', 'new\n');
    writeFileInRoot(root, '/etc/hostname', 'h\n');
    assert.equal(fs.readFileSync(path.join(root, 'etc/hosts'), 'utf8'), 'new\n');
    assert.equal(fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8'), 'h\n');
  });
  it('a hard link to a host file is replaced, not written through', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(outside, 'secret'), 'host\n');
    fs.linkSync(path.join(outside, 'secret'), path.join(root, 'etc/hostname'));
    writeFileInRoot(root, '/etc/hostname', 'h\n');
    assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'host\n');
    assert.equal(fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8'), 'h\n');
    assert.deepEqual(fs.readdirSync(path.join(root, 'etc')), ['hostname']);
  });
  it('a FIFO or a directory there is refused without blocking', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'etc/hosts'), { recursive: true });
    execFileSync('mkfifo', [path.join(root, 'etc/hostname')]);
    assert.throws(() => writeFileInRoot(root, '/etc/hostname', 'h\n'), code('EINVAL'));
    assert.throws(() => writeFileInRoot(root, '/etc/hosts', 'h\n'), code('EINVAL'));
  });
});

describe('readFileInRoot', () => {
  it('reads inside the root only, within the limit, regular files only', () => {
    fresh();
    fs.writeFileSync(path.join(outside, 'passwd'), 'host:x:0:0::/:/bin/sh\n');
    fs.symlinkSync(outside, path.join(root, 'etc'));
    assert.equal(readFileInRoot(root, '/etc/passwd', 1024), undefined);
    fs.rmSync(path.join(root, 'etc'));
    fs.mkdirSync(path.join(root, 'etc'));
    fs.symlinkSync(path.join(outside, 'passwd'), path.join(root, 'etc/passwd'));
    assert.equal(readFileInRoot(root, '/etc/passwd', 1024), undefined);
    fs.rmSync(path.join(root, 'etc/passwd'));
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(readFileInRoot(root, '/etc/passwd', 1024), 'root:x:0:0::/root:/bin/sh\n');
    assert.throws(() => readFileInRoot(root, '/etc/passwd', 10), code('EFBIG'));
    execFileSync('mkfifo', [path.join(root, 'etc/group')]);
    assert.throws(() => readFileInRoot(root, '/etc/group', 1024), code('EINVAL'));
  });
});

describe('mkdirInRoot and ensureFileInRoot', () => {
  it('create missing parents, and refuse a symlink met on the way (swapped in after the resolution)', () => {
    fresh();
    mkdirInRoot(root, '/a/b/c');
    ensureFileInRoot(root, '/a/f/g');
    assert.ok(fs.statSync(path.join(root, 'a/b/c')).isDirectory());
    assert.ok(fs.statSync(path.join(root, 'a/f/g')).isFile());
    fs.symlinkSync(outside, path.join(root, 'link'));
    assert.throws(() => mkdirInRoot(root, '/link/x'), code('ELOOP'));
    assert.throws(() => ensureFileInRoot(root, '/link/x'), code('ELOOP'));
    assert.throws(() => ensureFileInRoot(root, '/link'), code('ELOOP'));
    untouched();
  });
});

const spec = (over: Partial<RuntimeSpec>): RuntimeSpec => runtimeSpec({ rootfs: { kind: 'dir', path: root }, ...over });
const isFile = (p: string): boolean => fs.existsSync(p) && !fs.statSync(p).isDirectory();
const byTarget = (entries: MountEntry[]): Record<string, MountEntry> => Object.fromEntries(entries.map((e) => [e.target, e]));

describe('prepareMountTargets', () => {
  it('the etc files of an app container go into the rootfs even when its etc is a symlink out', () => {
    fresh();
    fs.symlinkSync(outside, path.join(root, 'etc'));
    const entries = prepareMountTargets(root, mountEntries(spec({}), isFile));
    assert.deepEqual(
      entries.map((e) => e.target),
      [`${outside}/hostname`, `${outside}/hosts`, `${outside}/resolv.conf`],
    );
    assert.ok(fs.statSync(path.join(root, outside, 'hosts')).isFile());
    assert.ok(entries.every((e) => !e.lxcCreates));
    untouched();
  });
  it('an etc symlink loop is refused with the target named', () => {
    fresh();
    fs.symlinkSync('/etc', path.join(root, 'etc'));
    assert.throws(
      () => prepareMountTargets(root, mountEntries(spec({}), isFile)),
      /cannot make the mount point \/etc\/hostname inside the container's rootfs: .*too many levels of symbolic links$/,
    );
  });
  it('-v, --tmpfs, --mount and --device targets: cleaned, resolved, made in the right filesystem', () => {
    fresh();
    const src = path.join(base, `src${seq}`);
    fs.mkdirSync(src);
    fs.symlinkSync(outside, path.join(src, 'escape'));
    fs.symlinkSync(outside, path.join(root, 'data'));
    const s = spec({
      systemContainer: true,
      devices: [
        { hostPath: '/dev/null', containerPath: '/dev/mynull', permissions: 'rwm' },
        { hostPath: '/dev/zero', containerPath: '/opt/../zero', permissions: 'rwm' },
      ],
      mounts: [
        { type: 'bind', source: src, destination: '/../../../mnt', readOnly: false },
        { type: 'tmpfs', source: 'tmpfs', destination: '/mnt/escape/t', readOnly: false },
        { type: 'tmpfs', source: 'tmpfs', destination: '/data/x', readOnly: false },
        { type: 'tmpfs', source: 'tmpfs', destination: '/run', readOnly: false },
        { type: 'bind', source: src, destination: '/run/inner/dir', readOnly: true },
        { type: 'tmpfs', source: 'tmpfs', destination: '/proc/1/root/tmp/x', readOnly: false },
      ],
    });
    const entries = byTarget(prepareMountTargets(root, mountEntries(s, isFile)));
    assert.deepEqual(Object.keys(entries), ['/dev/mynull', '/zero', '/mnt', `${outside}/t`, `${outside}/x`, '/run', '/run/inner/dir', '/proc/1/root/tmp/x']);
    // in the rootfs
    assert.ok(fs.statSync(path.join(root, 'zero')).isFile());
    assert.ok(fs.statSync(path.join(root, 'mnt')).isDirectory());
    assert.ok(fs.statSync(path.join(root, outside, 'x')).isDirectory());
    // a symlink in the bind source is followed in the container too: back into the rootfs
    assert.ok(fs.statSync(path.join(root, outside, 't')).isDirectory());
    // LXC creates only in fresh filesystems: autodev's /dev and a tmpfs; never in proc
    assert.equal(entries['/dev/mynull']!.lxcCreates, true);
    assert.equal(entries['/run/inner/dir']!.lxcCreates, true);
    assert.equal(entries['/proc/1/root/tmp/x']!.lxcCreates, false);
    assert.equal(entries['/mnt']!.lxcCreates, false);
    untouched();
  });
  it('the config names the resolved targets and asks LXC to create only where it may', () => {
    fresh();
    fs.mkdirSync(path.join(root, 'etc'));
    const s = spec({
      mounts: [
        { type: 'tmpfs', source: 'tmpfs', destination: '/dev/shm2', readOnly: false },
        { type: 'bind', source: '/tmp', destination: '/a dir/x', readOnly: true },
      ],
    });
    const text = renderLxcConfig(
      s,
      {
        containerDir: '/c',
        logFile: '/c/log',
        postStopHook: '/h',
        seccompProfile: undefined,
        remountReadOnlyHook: '/r',
        hookScript: undefined,
        monitorCgroup: 'm',
      },
      false,
      prepareMountTargets(root, mountEntries(s, isFile)),
    );
    const lines = text.split('\n').filter((l) => l.startsWith('lxc.mount.entry'));
    assert.deepEqual(lines, [
      'lxc.mount.entry = /s/hostname etc/hostname none bind 0 0',
      'lxc.mount.entry = /s/hosts etc/hosts none bind 0 0',
      'lxc.mount.entry = /s/resolv.conf etc/resolv.conf none bind 0 0',
      'lxc.mount.entry = tmpfs dev/shm2 tmpfs rw,nosuid,nodev,noexec,create=dir 0 0',
      'lxc.mount.entry = /tmp a\\040dir/x none rbind,ro,rprivate 0 0',
    ]);
  });
});
