import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/cli.js';
import { TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

const FREEZER = '/sys/fs/cgroup/freezer';
// Parents of our own, frozen by the tests: a name per run, so two runs never share one.
const OUTSIDE = `isulad-test-outside-${process.pid}`;
const OUTSIDE2 = `isulad-test-outside2-${process.pid}`;

const cgroupDirsOf = (rel: string): string[] =>
  fs
    .readdirSync('/sys/fs/cgroup')
    .map((h) => `/sys/fs/cgroup/${h}/${rel}`)
    .filter((d) => fs.existsSync(d));

/** Still a process: a zombie reparented to the host's init is only waiting for that init to reap it. */
const alive = (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

describe('garbage collection of D and Z state containers', { skip: !fs.existsSync(FREEZER) && 'needs the cgroup v1 freezer' }, () => {
  let engine: TestEngine;
  let rootfs: string;
  before(async () => {
    engine = await TestEngine.start();
    rootfs = busyboxRootfs();
  });
  after(async () => {
    // The daemon goes first, whatever is left: a daemon left running would hold the run open.
    await engine.cleanup();
    for (const d of [...cgroupDirsOf(OUTSIDE), ...cgroupDirsOf(OUTSIDE2)]) fs.rmdirSync(d);
  });

  const runDetached = async (args: string[]): Promise<{ id: string; pid: number }> => {
    const r = await engine.isula(['run', '-d', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const pid = Number((await engine.isula(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim());
    return { id, pid };
  };

  it('rm -f of a container frozen from outside returns within 3 s and leaves nothing', async () => {
    const { id, pid } = await runDetached(['--name', 'frozen', '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    fs.writeFileSync(`${FREEZER}/isulad/${id}/freezer.state`, 'FROZEN');
    await eventually('D state', () => (/State:\s+D/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')) ? true : undefined), 3000);
    const t0 = Date.now();
    const r = await engine.isula(['rm', '-f', 'frozen']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 3000, `rm -f took ${Date.now() - t0} ms`);
    await eventually('cleanup', () => (!alive(pid) && cgroupDirsOf(`isulad/${id}`).length === 0 ? true : undefined), 3000);
  });

  it('a frozen container whose LXC monitor is SIGKILLed ends up exited, its processes and cgroups gone, within 5 s', async () => {
    const { id, pid } = await runDetached(['--name', 'orphan', '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    fs.writeFileSync(`${FREEZER}/isulad/${id}/freezer.state`, 'FROZEN');
    const monitor = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    process.kill(monitor, 'SIGKILL');
    await eventually(
      'exited and clean',
      async () => {
        const status = (await engine.isula(['inspect', '-f', '{{.State.Status}}', 'orphan'])).stdout.trim();
        return status === 'exited' && !alive(pid) && cgroupDirsOf(`isulad/${id}`).length === 0 ? true : undefined;
      },
      5000,
    );
  });

  it('zombies that pid 1 never reaps are cleaned by stop and rm', async () => {
    const { id, pid } = await runDetached([
      '--name',
      'zombies',
      '--pids-limit',
      '16',
      '--external-rootfs',
      rootfs,
      'none',
      'sh',
      '-c',
      'for i in 1 2 3 4 5; do sleep 0.1 & done; exec sleep 1000',
    ]);
    await eventually(
      'zombies',
      () =>
        fs
          .readdirSync('/proc')
          .filter(
            (p) =>
              /^\d+$/.test(p) &&
              fs.existsSync(`/proc/${p}/stat`) &&
              / Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8')) &&
              fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid),
          ).length >= 5
          ? true
          : undefined,
      5000,
    );
    assert.equal((await engine.isula(['stop', '-t', '1', 'zombies'])).code, 0);
    assert.equal((await engine.isula(['rm', 'zombies'])).code, 0);
    await eventually('cleanup', () => (!alive(pid) && cgroupDirsOf(`isulad/${id}`).length === 0 ? true : undefined), 3000);
  });

  it('stuck under a parent frozen by someone else: rm -f returns, the name is free, info lists it, thaw reclaims it; the GC survives a daemon SIGKILL', async () => {
    const parent = `${FREEZER}/${OUTSIDE}`;
    fs.mkdirSync(parent, { recursive: true });
    const { id, pid } = await runDetached(['--name', 'stuck', '--cgroup-parent', `/${OUTSIDE}`, '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    fs.writeFileSync(`${parent}/freezer.state`, 'FROZEN');
    const t0 = Date.now();
    const rm = await engine.isula(['rm', '-f', 'stuck']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(Date.now() - t0 < 3000, `rm -f took ${Date.now() - t0} ms`);
    assert.doesNotMatch((await engine.isula(['ps', '-a'])).stdout, /stuck/);
    assert.equal((await engine.isula(['create', '--name', 'stuck', '--external-rootfs', rootfs, 'none', 'true'])).code, 0);
    const info = await engine.isula(['info']);
    assert.match(info.stdout, /^Garbage Collector: 1 leftover\(s\)$/m);
    assert.match(info.stdout, new RegExp(`${id.slice(0, 12)} stuck since`));
    assert.match(info.stdout, new RegExp(`pid ${pid} state D`));
    // The engine must not thaw a cgroup it does not own.
    assert.equal(fs.readFileSync(`${parent}/freezer.state`, 'utf8').trim(), 'FROZEN');

    await engine.restart();
    assert.match((await engine.isula(['info'])).stdout, /^Garbage Collector: 1 leftover\(s\)$/m);

    fs.writeFileSync(`${parent}/freezer.state`, 'THAWED');
    await eventually(
      'reclaimed',
      async () =>
        /^Garbage Collector: 0 leftover\(s\)$/m.test((await engine.isula(['info'])).stdout) && !alive(pid) && cgroupDirsOf(`${OUTSIDE}/${id}`).length === 0
          ? true
          : undefined,
      5000,
    );
  });

  it('a container in the collector shows it in inspect and ps, refuses start, and leaves it once thawed', async () => {
    const parent = `${FREEZER}/${OUTSIDE2}`;
    fs.mkdirSync(parent, { recursive: true });
    const { id, pid } = await runDetached(['--name', 'ingc', '--cgroup-parent', `/${OUTSIDE2}`, '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    fs.writeFileSync(`${parent}/freezer.state`, 'FROZEN');
    const monitor = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    process.kill(monitor, 'SIGKILL');
    const gc = await eventually(
      'in GC',
      async () => {
        const r = await engine.isula(['inspect', '-f', '{{json .GarbageCollector}}', 'ingc']);
        const v = JSON.parse(r.stdout) as { InGc: boolean; Since?: string; Processes?: { Pid: number; State: string; Wchan: string }[] };
        return v.InGc ? v : undefined;
      },
      8000,
    );
    assert.ok(gc.Since && !Number.isNaN(Date.parse(gc.Since)));
    assert.ok(
      gc.Processes?.some((p) => p.Pid === pid && p.State === 'D'),
      JSON.stringify(gc),
    );
    assert.match((await engine.isula(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^ingc .*\(in GC\)$/m);
    const start = await engine.isula(['start', 'ingc']);
    assert.equal(start.code, 1);
    assert.match(start.stderr, /garbage collector/);
    fs.writeFileSync(`${parent}/freezer.state`, 'THAWED');
    await eventually(
      'out of GC',
      async () =>
        (await engine.isula(['inspect', '-f', '{{.GarbageCollector.InGc}} {{.State.Status}}', 'ingc'])).stdout.trim() === 'false exited' ? true : undefined,
      5000,
    );
    assert.equal(alive(pid), false);
    assert.deepEqual(cgroupDirsOf(`${OUTSIDE2}/${id}`), []);
    const events = await engine.isula(['events', '-n', 'ingc', '--since', '60s', '--until', '0s']);
    assert.match(events.stdout, /container gc_enter /);
    assert.match(events.stdout, /container gc_leave /);
  });

  it('update --restart changes the policy of a container', async () => {
    await runDetached(['--name', 'upd', '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    assert.equal((await engine.isula(['update', '--restart', 'on-failure:2', 'upd'])).code, 0);
    assert.equal(
      (await engine.isula(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd'])).stdout.trim(),
      'on-failure 2',
    );
  });
});
