import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CreateRequest, EngineEvent } from '../../src/api/containers.js';
import type { Container } from '../../src/container/container.js';
import type { EngineContext } from '../../src/container/context.js';
import { createContainer } from '../../src/container/create.js';
import { removeContainer } from '../../src/container/remove.js';
import { startContainer } from '../../src/container/start.js';
import { stopContainer } from '../../src/container/stop.js';
import { ContainerStore } from '../../src/container/store.js';
import { wireContext } from '../../src/daemon/engine.js';
import { ExternalImageBackend } from '../../src/image/external/external.js';
import { RuntimeTable } from '../../src/runtime/table.js';
import { silentLogger } from '../../src/sys/log.js';
import { superviseExits } from '../../src/supervisor/route.js';
import { FakeRuntime } from '../helpers/fake-runtime.js';

/**
 * The container verbs' races, against a runtime that runs nothing (test/helpers/fake-runtime.ts)
 * and wired as the daemon wires them: what a user would see (state, exit code, events, errors)
 * when two things happen to one container at once.
 */
describe('container verbs racing each other (fake runtime)', () => {
  let root: string;
  let runtime: FakeRuntime;
  let ctx: EngineContext;
  let supervisor: { close(): void };
  let events: EngineEvent[];

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-races-'));
    fs.mkdirSync(path.join(root, 'rootfs'));
    runtime = new FakeRuntime(root);
    runtime.init();
    ctx = wireContext({
      store: new ContainerStore(path.join(root, 'containers')),
      runtimes: new RuntimeTable([runtime], { other: 'fake' }),
      images: [new ExternalImageBackend()],
      graph: root,
      defaults: { cgroupParent: 'isulad', defaultRuntime: 'fake', logMaxBytes: 1024 * 1024, logMaxFiles: 7, hookSpec: undefined },
      kernel: {
        overlay: true,
        squashfs: true,
        loop: true,
        userNamespaces: true,
        freezer: true,
        pids: true,
        memory: true,
        memsw: true,
        cpu: true,
        cpuset: true,
        files: true,
      },
      log: silentLogger,
    });
    events = [];
    ctx.events.subscribe((e) => events.push(e));
    supervisor = superviseExits(ctx, silentLogger);
  });

  afterEach(async () => {
    supervisor.close();
    ctx.restarts.close();
    ctx.health.close();
    await Promise.all(ctx.store.all().map((c) => c.closeFiles()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function create(req: Partial<CreateRequest> = {}): Promise<Container> {
    const { id } = await createContainer(ctx, {
      image: 'none',
      externalRootfs: path.join(root, 'rootfs'),
      cmd: ['/bin/app'],
      env: [],
      labels: {},
      tty: false,
      openStdin: false,
      systemContainer: false,
      readOnly: false,
      mounts: [],
      resources: {},
      capAdd: [],
      capDrop: [],
      privileged: false,
      devices: [],
      ulimits: [],
      logOpts: {},
      autoRemove: false,
      ...req,
    });
    return ctx.store.find(id)!;
  }

  /** The actions of one container's events, in order, after its create. */
  function actions(c: Container): string[] {
    return events.filter((e) => e.id === c.id && e.action !== 'create').map((e) => (e.action === 'die' ? `die ${e.attributes.exitCode}` : e.action));
  }

  async function until(what: string, done: () => boolean, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('at load, a never started record whose rootfs was never made is a create cut short and goes; a started one stays', async () => {
    const fresh = await create({ name: 'fresh' });
    const started = await create({ name: 'started' });
    started.state.StartedAt = new Date().toISOString();
    await started.save();
    await Promise.all([fresh.closeFiles(), started.closeFiles()]);
    const dir = path.join(root, 'containers');
    // Both records name a rootfs their back-end says it never made (a kill between the record's fsync and the layer's).
    const loaded = new ContainerStore(dir).load(
      silentLogger,
      () => false,
      () => false,
    );
    assert.deepEqual(
      loaded.map((c) => c.name),
      ['started'],
    );
    assert.equal(fs.existsSync(fresh.dir), false);
    await Promise.all(loaded.map((c) => c.closeFiles()));
    // With the rootfs there, the never started one would have stayed.
    const again = await create({ name: 'fresh2' });
    await again.closeFiles();
    assert.ok(
      new ContainerStore(dir)
        .load(
          silentLogger,
          () => false,
          () => true,
        )
        .some((c) => c.name === 'fresh2'),
    );
  });

  it('a container is created on the runtime the table resolves, by name or alias, and an unknown runtime is refused', async () => {
    const c = await create({ runtime: 'OTHER' });
    assert.equal(c.record.host.Runtime, 'fake');
    await assert.rejects(create({ runtime: 'runc' }), /Invalid runtime name "runc"/);
    await assert.rejects(create({ capAdd: ['NOT_A_CAP'] }), /Unknown capability: NOT_A_CAP/);
    assert.deepEqual(
      ctx.store.all().map((x) => x.id),
      [c.id],
      'a refused create leaves nothing',
    );
  });

  it('start and stop at once: the start runs first, the stop ends that run (143) and is told after its die', async () => {
    const c = await create();
    await Promise.all([startContainer(ctx, c), stopContainer(ctx, c, 5)]);
    assert.equal(c.status, 'exited');
    assert.equal(c.state.ExitCode, 143);
    assert.equal(c.state.ManuallyStopped, true);
    assert.deepEqual(actions(c), ['start', 'die 143', 'stop']);
  });

  it('a stop ignored until its timeout ends in SIGKILL and 137', async () => {
    const c = await create();
    runtime.behaviour.set(c.id, { obeysStopSignal: false, exitDelayMs: 0 });
    await startContainer(ctx, c);
    await stopContainer(ctx, c, 0);
    assert.deepEqual(runtime.signals, [`${c.id} 15`, `${c.id} 9`]);
    assert.equal(c.state.ExitCode, 137);
    assert.deepEqual(actions(c), ['start', 'die 137', 'stop']);
  });

  it('stop while the container exits by itself: its own exit code is kept, one die, then the stop', async () => {
    const c = await create();
    runtime.behaviour.set(c.id, { obeysStopSignal: true, exitDelayMs: 50 });
    await startContainer(ctx, c);
    runtime.exit(c.id, 3);
    await stopContainer(ctx, c, 5);
    assert.equal(c.status, 'exited');
    assert.equal(c.state.ExitCode, 3);
    assert.deepEqual(actions(c), ['start', 'die 3', 'stop']);
  });

  it('an exit recorded before the start returns: the container is exited, its start told before its die', async () => {
    const c = await create();
    runtime.behaviour.set(c.id, { exitAtStart: 7, obeysStopSignal: true, exitDelayMs: 0 });
    await startContainer(ctx, c);
    await until('the die', () => actions(c).length === 2);
    assert.equal(c.status, 'exited');
    assert.equal(c.state.ExitCode, 7);
    assert.deepEqual(actions(c), ['start', 'die 7']);
  });

  it('rm -f while the exit is being recorded: one die, then the destroy, and the container is gone', async () => {
    const c = await create();
    await startContainer(ctx, c);
    runtime.exit(c.id, 0);
    await removeContainer(ctx, c, true);
    assert.equal(ctx.store.find(c.id), undefined);
    assert.equal(fs.existsSync(c.dir), false);
    const told = actions(c);
    assert.equal(told.filter((a) => a.startsWith('die')).length, 1);
    assert.equal(told.at(-1), 'destroy');
  });

  it('rm without -f of a running container is refused and changes nothing', async () => {
    const c = await create();
    await startContainer(ctx, c);
    await assert.rejects(removeContainer(ctx, c, false), /running/i);
    assert.equal(c.status, 'running');
    assert.ok(ctx.store.find(c.id));
    assert.deepEqual(actions(c), ['start']);
  });

  it('rm -f of a container whose restart is pending: no new run after the destroy', async () => {
    const c = await create({ restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    await startContainer(ctx, c);
    runtime.exit(c.id, 1);
    await until('the restart to be scheduled', () => c.state.Restarting);
    await removeContainer(ctx, c, true);
    // Past the first back-off (100 ms): a restart not cancelled would have started by now.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(runtime.starts, [c.id]);
    assert.equal(ctx.store.find(c.id), undefined);
    assert.deepEqual(actions(c), ['start', 'die 1', 'destroy']);
  });

  it('rm -f racing the exit of a container with a restart policy: removed, never restarted', async () => {
    const c = await create({ restartPolicy: { name: 'always', maximumRetryCount: 0 } });
    await startContainer(ctx, c);
    runtime.exit(c.id, 1);
    await removeContainer(ctx, c, true);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(runtime.starts, [c.id]);
    assert.equal(ctx.store.find(c.id), undefined);
    assert.equal(actions(c).at(-1), 'destroy');
  });

  it('a restart policy restarts an exited container, and --rm removes one without a policy', async () => {
    const restarted = await create({ restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } });
    const removed = await create({ autoRemove: true });
    await startContainer(ctx, restarted);
    await startContainer(ctx, removed);
    runtime.exit(restarted.id, 2);
    runtime.exit(removed.id, 0);
    await until('the restart', () => runtime.starts.length === 3);
    await until('the auto-remove', () => ctx.store.find(removed.id) === undefined);
    assert.equal(restarted.status, 'running');
    assert.deepEqual(actions(restarted), ['start', 'die 2', 'start']);
    assert.deepEqual(actions(removed), ['start', 'die 0', 'destroy']);
    await stopContainer(ctx, restarted, 5);
  });
});
