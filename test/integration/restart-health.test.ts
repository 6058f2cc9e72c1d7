import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/cli.js';
import { TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

describe('restart policies and health checks', () => {
  let engine: TestEngine;
  let rootfs: string;
  before(async () => {
    engine = await TestEngine.start();
    rootfs = busyboxRootfs();
  });
  after(() => engine.cleanup());

  const inspect = async (name: string, format: string): Promise<string> => {
    const r = await engine.isula(['inspect', '-f', format, name]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  it('on-failure:3 restarts exactly 3 times, with growing back-off between the runs', async () => {
    const r = await engine.isula(['run', '-d', '--name', 'of', '--restart', 'on-failure:3', '--external-rootfs', rootfs, 'none', 'sh', '-c', 'exit 1']);
    assert.equal(r.code, 0, r.stderr);
    await eventually('3 restarts', async () => ((await inspect('of', '{{.State.Status}} {{.RestartCount}}')) === 'exited 3' ? true : undefined), 20_000);
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(await inspect('of', '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'), 'exited 3 1');
    const events = await engine.isula(['events', '-n', 'of', '--since', '60s', '--until', '0s']);
    const times = events.stdout
      .split('\n')
      .filter((l) => / container (start|die) /.test(l))
      .map((l) => ({ action: l.split(' ')[2], t: Date.parse(l.split(' ')[0]!) }));
    assert.equal(times.filter((e) => e.action === 'start').length, 4, events.stdout);
    const gaps = [];
    for (let i = 1; i < times.length; i++) if (times[i]!.action === 'start' && times[i - 1]!.action === 'die') gaps.push(times[i]!.t - times[i - 1]!.t);
    assert.equal(gaps.length, 3);
    assert.ok(gaps[0]! >= 100 && gaps[1]! >= 200 && gaps[2]! >= 400, `back-off gaps ${gaps.join(', ')} ms`);
  });

  it('always survives kill -9 of pid 1 and is cancelled by stop', async () => {
    assert.equal((await engine.isula(['run', '-d', '--name', 'al', '--restart', 'always', '--external-rootfs', rootfs, 'none', 'sleep', '1000'])).code, 0);
    const pid = Number(await inspect('al', '{{.State.Pid}}'));
    process.kill(pid, 'SIGKILL');
    await eventually(
      'a restart',
      async () => {
        const [status, count, newPid] = (await inspect('al', '{{.State.Status}} {{.RestartCount}} {{.State.Pid}}')).split(' ');
        return status === 'running' && count === '1' && Number(newPid) !== pid ? true : undefined;
      },
      20_000,
    );
    assert.equal((await engine.isula(['stop', '-t', '0', 'al'])).code, 0);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(await inspect('al', '{{.State.Status}} {{.RestartCount}}'), 'exited 1');
  });

  it('--restart with --rm is refused; bad policies are refused', async () => {
    const both = await engine.isula(['run', '--rm', '--restart', 'always', '--external-rootfs', rootfs, 'none', 'true']);
    assert.equal(both.code, 125);
    assert.match(both.stderr, /Conflicting options: --restart and --rm/);
    const bad = await engine.isula(['run', '--restart', 'sometimes', '--external-rootfs', rootfs, 'none', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid restart policy "sometimes"/);
  });

  it('a failing health check turns the container unhealthy after retries, and keeps 5 results', async () => {
    const r = await engine.isula([
      'run',
      '-d',
      '--name',
      'hc',
      '--health-cmd',
      'test -f /tmp/ok',
      '--health-interval',
      '1s',
      '--health-retries',
      '2',
      '--external-rootfs',
      rootfs,
      'none',
      'sh',
      '-c',
      'touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 1000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await eventually('healthy', async () => ((await inspect('hc', '{{.State.Health.Status}}')) === 'healthy' ? true : undefined), 20_000);
    const ps = await engine.isula(['ps', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, /^hc Up .* \(healthy\)$/m);
    await eventually('unhealthy', async () => ((await inspect('hc', '{{.State.Health.Status}}')) === 'unhealthy' ? true : undefined), 20_000);
    await eventually('5 log entries', async () => ((await inspect('hc', '{{len .State.Health.Log}}')) === '5' ? true : undefined), 20_000);
    const events = await engine.isula(['events', '-n', 'hc', '--since', '60s', '--until', '0s']);
    assert.match(events.stdout, /health_status: healthy/);
    assert.match(events.stdout, /health_status: unhealthy/);
  });

  it('--health-exit-on-unhealthy stops the container', async () => {
    const r = await engine.isula([
      'run',
      '-d',
      '--name',
      'hx',
      '--health-cmd',
      'false',
      '--health-interval',
      '1s',
      '--health-retries',
      '1',
      '--health-exit-on-unhealthy',
      '--external-rootfs',
      rootfs,
      'none',
      'sleep',
      '1000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await eventually('stopped', async () => ((await inspect('hx', '{{.State.Status}}')) === 'exited' ? true : undefined), 20_000);
    assert.equal(await inspect('hx', '{{.State.Health.Status}}'), 'unhealthy');
  });

  it('health flag limits are checked', async () => {
    const short = await engine.isula(['run', '--health-cmd', 'true', '--health-interval', '500ms', '--external-rootfs', rootfs, 'none', 'true']);
    assert.equal(short.code, 125);
    assert.match(short.stderr, /--health-interval: must be at least 1 second/);
    const conflict = await engine.isula(['run', '--no-healthcheck', '--health-cmd', 'true', '--external-rootfs', rootfs, 'none', 'true']);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /--no-healthcheck conflicts/);
  });
});
