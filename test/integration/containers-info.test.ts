import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cli, eventually, show, sleepMs } from '../helpers/cli.js';
import { ISULA, run, TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * Looking at containers and reaching into them, through the real client and daemon on
 * real LXC containers: ps, inspect, logs, events, exec, top, rename, update, attach.
 */

const lines = (text: string): string[] => text.split('\n').filter(Boolean);

describe('ps', () => {
  let cli: Cli;
  const ids: Record<string, string> = {};
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
    ids.a1 = await cli.runDetached(['--name', 'a1', '-l', 'tier=web', '-l', 'env=prod'], ['sleep', '1000']);
    ids.a2 = await cli.create(['--name', 'a2', '-l', 'tier=db'], ['true']);
    const r = await cli.withRootfs('run', ['--name', 'a3'], ['sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, show(r));
    ids.a3 = (await cli.ok(['inspect', '-f', '{{.Id}}', 'a3'])).trim();
    ids.a4 = await cli.runDetached(['--name', 'a4'], ['sleep', '1001']);
    await cli.ok(['pause', 'a4']);
  });
  after(() => cli.engine.cleanup());

  it('ps lists running containers (paused count as running) in a table', async () => {
    const out = lines(await cli.ok(['ps']));
    assert.match(out[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.equal(out.length, 3, out.join('\n'));
    assert.match(out[2]!, new RegExp(`^${ids.a1!.slice(0, 12)}\\s+none\\s+"sleep 1000"\\s+.* ago\\s+Up .*\\s+a1$`));
    assert.match(out[1]!, /\bUp .*\(Paused\)\s+a4$/);
  });

  it('ps -a adds stopped and created containers, newest first', async () => {
    const out = lines(await cli.ok(['ps', '-a']));
    assert.equal(out.length, 5);
    assert.deepEqual(
      out.slice(1).map((l) => l.split(/\s+/).at(-1)),
      ['a4', 'a3', 'a2', 'a1'],
    );
    assert.match(out[2]!, /Exited \(3\) .* ago\s+a3$/);
    assert.match(out[3]!, /\sCreated\s+a2$/);
  });

  it('ps -q prints short ids only; --no-trunc full ids and full commands', async () => {
    assert.deepEqual(lines(await cli.ok(['ps', '-q'])).sort(), [ids.a1!.slice(0, 12), ids.a4!.slice(0, 12)].sort());
    assert.deepEqual(lines(await cli.ok(['ps', '-a', '-q', '--no-trunc'])), [ids.a4, ids.a3, ids.a2, ids.a1]);
    const long = await cli.create(['--name', 'longcmd'], ['sh', '-c', 'echo this-is-a-rather-long-command-line']);
    const trunc = lines(await cli.ok(['ps', '-a', '-f', 'name=longcmd']))[1]!;
    assert.doesNotMatch(trunc, /this-is-a-rather-long-command-line/);
    const full = lines(await cli.ok(['ps', '-a', '--no-trunc', '-f', 'name=longcmd']))[1]!;
    assert.match(full, new RegExp(`^${long}\\s+none\\s+"sh -c echo this-is-a-rather-long-command-line"`));
    await cli.ok(['rm', 'longcmd']);
  });

  it('ps -n N shows the N last created of any state; -l the last one', async () => {
    assert.equal(await cli.ok(['ps', '-n', '2', '--format', '{{.Names}}']), 'a4\na3\n');
    assert.equal(await cli.ok(['ps', '-n', '3', '-q']), `${ids.a4!.slice(0, 12)}\n${ids.a3!.slice(0, 12)}\n${ids.a2!.slice(0, 12)}\n`);
    assert.equal(await cli.ok(['ps', '-l', '--format', '{{.Names}}']), 'a4\n');
  });

  it('ps --format renders a Go template per container', async () => {
    const out = lines(await cli.ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']));
    assert.equal(out.length, 4);
    assert.match(out[0]!, /^a4 Up .* \(Paused\)$/);
    assert.match(out[1]!, /^a3 Exited \(3\) .* ago$/);
    assert.equal(out[2], 'a2 Created');
    assert.match(out[3]!, /^a1 Up /);
    assert.equal(await cli.ok(['ps', '-a', '-f', 'name=a1', '--format', '{{.ID}}|{{.Image}}|{{.Command}}']), `${ids.a1!.slice(0, 12)}|none|"sleep 1000"\n`);
  });

  it('ps -f name= / id= / status= / label= filter the list', async () => {
    const names = async (...filters: string[]): Promise<string[]> =>
      lines(await cli.ok(['ps', '-a', ...filters.flatMap((f) => ['-f', f]), '--format', '{{.Names}}']));
    assert.deepEqual(await names('name=a1'), ['a1']);
    assert.deepEqual(await names(`id=${ids.a2!.slice(0, 10)}`), ['a2']);
    assert.deepEqual(await names(`id=${ids.a3}`), ['a3']);
    assert.deepEqual(await names('status=exited'), ['a3']);
    assert.deepEqual(await names('status=created'), ['a2']);
    assert.deepEqual(await names('status=running'), ['a1']);
    assert.deepEqual(await names('status=paused'), ['a4']);
    assert.deepEqual(await names('label=tier'), ['a2', 'a1']);
    assert.deepEqual(await names('label=tier=web'), ['a1']);
    assert.deepEqual(await names('label=env=prod', 'label=tier=web'), ['a1']);
    assert.deepEqual(await names('label=tier', 'status=created'), ['a2']);
    assert.deepEqual(await names('name=no-such-name'), []);
  });

  it('ps -f without -a still lists running containers only', async () => {
    assert.deepEqual(lines(await cli.ok(['ps', '-f', 'label=tier', '--format', '{{.Names}}'])), ['a1']);
    assert.deepEqual(lines(await cli.ok(['ps', '-f', 'name=a2', '--format', '{{.Names}}'])), []);
    assert.deepEqual(lines(await cli.ok(['ps', '-q', '-f', 'name=a3'])), []);
  });

  it('ps -f with an unknown key or a value without = exits 125', async () => {
    let r = await cli.isula(['ps', '-a', '-f', 'colour=red']);
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /colour/);
    r = await cli.isula(['ps', '-a', '-f', 'novalue']);
    assert.equal(r.code, 125, show(r));
  });

  it('ps -f status= with a state that does not exist is an error, not an empty list', async () => {
    const r = await cli.isula(['ps', '-a', '-f', 'status=bogus']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /bogus/);
  });
});

describe('inspect', () => {
  let cli: Cli;
  let id: string;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
    id = await cli.runDetached(['--name', 'insp', '-e', 'FOO=bar', '-l', 'app=demo', '-m', '64m', '-h', 'inspect-host', '-w', '/tmp'], ['sleep', '1000']);
  });
  after(() => cli.engine.cleanup());

  it('inspect prints a JSON array describing the container', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test walks deep into inspect's JSON and asserts every value it reads
    const arr = JSON.parse(await cli.ok(['inspect', 'insp'])) as Record<string, any>[];
    assert.ok(Array.isArray(arr));
    assert.equal(arr.length, 1);
    const c = arr[0]!;
    assert.equal(c.Id, id);
    assert.equal(c.Name, 'insp');
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Running, true);
    assert.ok(Number(c.State.Pid) > 0);
    assert.ok(c.Config.Env.includes('FOO=bar'), JSON.stringify(c.Config.Env));
    assert.deepEqual(c.Config.Labels, { app: 'demo' });
    assert.deepEqual(c.Config.Cmd, ['sleep', '1000']);
    assert.equal(c.Config.Hostname, 'inspect-host');
    assert.equal(c.Config.WorkingDir, '/tmp');
    assert.equal(c.HostConfig.Memory, 67108864);
    assert.equal(Date.parse(c.Created) > 0, true);
    assert.equal(Date.parse(c.State.StartedAt) >= Date.parse(c.Created), true);
  });

  it('inspect -f renders Go templates: .State.Status, .Id, json .Config', async () => {
    assert.equal(await cli.ok(['inspect', '-f', '{{.State.Status}}', 'insp']), 'running\n');
    assert.equal(await cli.ok(['inspect', '-f', '{{.Id}}', id.slice(0, 8)]), `${id}\n`);
    const config = JSON.parse(await cli.ok(['inspect', '-f', '{{json .Config}}', 'insp'])) as Record<string, unknown>;
    assert.deepEqual(config.Cmd, ['sleep', '1000']);
    assert.deepEqual(config.Labels, { app: 'demo' });
    assert.equal(await cli.ok(['inspect', '--format', '{{.Name}} {{.HostConfig.Memory}} {{.Config.Labels.app}}', 'insp']), 'insp 67108864 demo\n');
  });

  it('inspect of several containers prints one entry each', async () => {
    const other = await cli.create(['--name', 'insp2'], ['true']);
    assert.equal(await cli.ok(['inspect', '-f', '{{.Id}}', 'insp', 'insp2']), `${id}\n${other}\n`);
    const arr = JSON.parse(await cli.ok(['inspect', 'insp', 'insp2'])) as { Name: string; State: { Status: string } }[];
    assert.deepEqual(
      arr.map((c) => `${c.Name} ${c.State.Status}`),
      ['insp running', 'insp2 inited'],
    );
  });

  it('inspect of a stopped container shows its exit code and finish time', async () => {
    await cli.withRootfs('run', ['--name', 'insp3'], ['sh', '-c', 'exit 9']);
    const [c] = JSON.parse(await cli.ok(['inspect', 'insp3'])) as {
      State: { Status: string; Running: boolean; ExitCode: number; FinishedAt: string; StartedAt: string };
    }[];
    assert.equal(c!.State.Status, 'exited');
    assert.equal(c!.State.Running, false);
    assert.equal(c!.State.ExitCode, 9);
    assert.ok(Date.parse(c!.State.FinishedAt) >= Date.parse(c!.State.StartedAt), JSON.stringify(c!.State));
  });

  it('inspect of a missing container exits 1; the found ones are still printed', async () => {
    const r = await cli.isula(['inspect', '-f', '{{.Name}}', 'insp', 'no-such-ctr']);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, 'insp\n');
    assert.match(r.stderr, /No such (image or )?container: no-such-ctr/);
  });

  it('inspect -f with a field the container lacks exits 1 (client-behaviour.test.ts); a broken template exits 125', async () => {
    assert.equal((await cli.isula(['inspect', '-f', '{{.NoSuchField}}', 'insp'])).code, 1);
    const r = await cli.isula(['inspect', '-f', '{{.State.Status', 'insp']);
    assert.equal(r.code, 125, show(r));
  });
});

describe('logs', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
    const r = await cli.withRootfs('run', ['--name', 'lg'], ['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; done; echo err1 >&2']);
    assert.equal(r.code, 0, show(r));
  });
  after(() => cli.engine.cleanup());

  it('logs prints everything the container wrote, stdout to stdout and stderr to stderr', async () => {
    const r = await cli.isula(['logs', 'lg']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'out1\nout2\nout3\nout4\nout5\n');
    assert.equal(r.stderr, 'err1\n');
  });

  it('logs --tail N prints the last N lines', async () => {
    const r = await cli.isula(['logs', '--tail', '3', 'lg']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'out4\nout5\n');
    assert.equal(r.stderr, 'err1\n');
    assert.equal(await cli.ok(['logs', '--tail', '1', 'lg'], {}), '');
    assert.equal(await cli.ok(['logs', '--tail', '0', 'lg']), '');
    assert.equal(await cli.ok(['logs', '--tail', 'all', 'lg']), 'out1\nout2\nout3\nout4\nout5\n');
    const bad = await cli.isula(['logs', '--tail', 'many', 'lg']);
    assert.equal(bad.code, 125, show(bad));
  });

  it('logs -t prefixes each line with an RFC 3339 timestamp', async () => {
    const out = lines(await cli.ok(['logs', '-t', 'lg']));
    assert.equal(out.length, 5);
    out.forEach((l, i) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/.exec(l);
      assert.ok(m, l);
      assert.equal(m[2], `out${i + 1}`);
      assert.ok(Math.abs(Date.parse(m[1]!) - Date.now()) < 10 * 60_000, l);
    });
  });

  it('logs keeps the output of every run of a restarted container', async () => {
    await cli.withRootfs('run', ['--name', 'twice'], ['echo', 'run']);
    await cli.ok(['start', 'twice']);
    assert.equal(await cli.ok(['wait', 'twice']), '0\n');
    assert.equal(await cli.ok(['logs', 'twice']), 'run\nrun\n');
  });

  it('logs -f follows new output and ends when the container exits', async () => {
    await cli.runDetached(['--name', 'lf'], ['sh', '-c', 'echo first; sleep 1; echo second; sleep 0.5; echo third; exit 3']);
    const f = cli.spawn(['logs', '-f', 'lf']);
    try {
      await f.waitFor(/first\n/);
      assert.doesNotMatch(f.stdout, /second/);
      await f.waitFor(/second\n/, 5000);
      assert.equal(await f.exit(5000), 0);
      assert.equal(f.stdout, 'first\nsecond\nthird\n');
    } finally {
      f.kill();
    }
  });

  it('logs -f interrupted with Ctrl-C ends quietly', async () => {
    await cli.runDetached(['--name', 'lfint'], ['sh', '-c', 'echo ready; sleep 1000']);
    const f = cli.spawn(['logs', '-f', 'lfint']);
    try {
      await f.waitFor(/ready\n/);
      f.child.kill('SIGINT');
      const code = await f.exit(5000);
      assert.ok(code === 0 || code === 130, `exit ${code}: ${f.stderr}`);
      assert.equal(f.stderr, '');
    } finally {
      f.kill();
    }
  });

  it('logs -f of a stopped container prints the log and returns', async () => {
    const r = await cli.isula(['logs', '-f', 'lg'], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'out1\nout2\nout3\nout4\nout5\n');
  });

  it('logs piped into a reader that stops early ends quietly (no EPIPE crash)', async () => {
    const r0 = await cli.withRootfs('run', ['--name', 'big'], ['sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done']);
    assert.equal(r0.code, 0);
    const r = await run('bash', ['-c', `"${ISULA}" -H "${cli.engine.host}" logs big | head -n 1`]);
    assert.equal(r.stdout, 'line 0\n');
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|\n\s+at /, r.stderr);
  });
});

describe('events', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  interface Ev {
    time: string;
    action: string;
    id: string;
    attrs: Record<string, string>;
  }
  const parse = (text: string): Ev[] =>
    lines(text).map((l) => {
      const m = /^(\S+) container (\S+) ([0-9a-f]{64})(?: \((.*)\))?$/.exec(l);
      assert.ok(m, `event line: ${l}`);
      const attrs: Record<string, string> = {};
      for (const kv of (m[4] ?? '').split(', ').filter(Boolean)) {
        const eq = kv.indexOf('=');
        attrs[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      return { time: m[1]!, action: m[2]!, id: m[3]!, attrs };
    });

  it('events -S/-U replays the lifecycle of a container in order with its attributes', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const id = await cli.runDetached(['--name', 'ev'], ['sleep', '1000']);
    const ex = await cli.isula(['exec', 'ev', 'sh', '-c', 'exit 3']);
    assert.equal(ex.code, 3, show(ex));
    await cli.ok(['pause', 'ev']);
    await cli.ok(['unpause', 'ev']);
    await cli.ok(['kill', '-s', 'SIGUSR1', 'ev']);
    await cli.ok(['rename', 'ev', 'ev2']);
    await cli.ok(['stop', '-t', '1', 'ev2']);
    await cli.ok(['rm', 'ev2']);
    const until = new Date(Date.now() + 1000).toISOString();
    const r = await cli.isula(['events', '-S', since, '-U', until], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, show(r));
    const evs = parse(r.stdout).filter((e) => e.id === id);
    const actions = evs.map((e) => e.action);
    const order = ['create', 'start', 'exec_create', 'exec_start', 'exec_die', 'pause', 'unpause', 'kill', 'rename', 'die', 'stop', 'destroy'];
    let at = -1;
    for (const a of order) {
      const i = actions.indexOf(a, at + 1);
      assert.ok(i > at, `${a} after ${order[order.indexOf(a) - 1] ?? 'start'} in ${actions.join(' ')}`);
      at = i;
    }
    const find = (a: string): Ev => evs.find((e) => e.action === a)!;
    assert.equal(find('create').attrs.name, 'ev');
    assert.equal(find('kill').attrs.signal, '10');
    assert.equal(find('exec_die').attrs.exitCode, '3');
    assert.equal(find('die').attrs.exitCode, '137');
    assert.equal(find('rename').attrs.name, 'ev2');
    assert.equal(find('rename').attrs.oldName, 'ev');
    // times are RFC 3339 and never go backwards
    const times = evs.map((e) => Date.parse(e.time));
    assert.ok(
      times.every((t, i) => !Number.isNaN(t) && (i === 0 || t >= times[i - 1]!)),
      evs.map((e) => e.time).join(' '),
    );
  });

  it('events -n NAME shows only that container; -S and -U bound the time', { timeout: 60_000 }, async () => {
    const t0 = new Date(Date.now() - 1000).toISOString();
    const a = await cli.runDetached(['--name', 'evA'], ['true']);
    await cli.ok(['wait', 'evA']);
    await sleepMs(50);
    const t1 = new Date().toISOString();
    await sleepMs(50);
    const b = await cli.runDetached(['--name', 'evB'], ['true']);
    await cli.ok(['wait', 'evB']);
    await sleepMs(50);
    const t2 = new Date().toISOString();
    await sleepMs(50);
    await cli.ok(['rm', 'evA']);

    const ev = async (...args: string[]): Promise<Ev[]> => parse(await cli.ok(['events', ...args], { timeoutMs: 10_000 }));
    const onlyA = await ev('-n', 'evA', '-S', t0, '-U', t2);
    assert.ok(onlyA.length >= 3, JSON.stringify(onlyA));
    assert.ok(
      onlyA.every((e) => e.id === a),
      JSON.stringify(onlyA),
    );
    assert.deepEqual(
      onlyA.map((e) => e.action).filter((x) => ['create', 'start', 'die'].includes(x)),
      ['create', 'start', 'die'],
    );

    const byId = await ev('-n', b, '-S', t0, '-U', t2);
    assert.ok(byId.length >= 3 && byId.every((e) => e.id === b), JSON.stringify(byId));

    const between = await ev('-S', t1, '-U', t2);
    assert.ok(
      between.some((e) => e.id === b && e.action === 'create'),
      JSON.stringify(between),
    );
    assert.ok(!between.some((e) => e.id === a), JSON.stringify(between));

    const after2 = await ev('-S', t2, '-U', new Date(Date.now() + 500).toISOString());
    assert.ok(
      after2.some((e) => e.id === a && e.action === 'destroy'),
      JSON.stringify(after2),
    );
    assert.ok(!after2.some((e) => e.id === b), JSON.stringify(after2));
  });

  it('events -S with a relative duration replays recent events', async () => {
    const id = await cli.create(['--name', 'evrel'], ['true']);
    const evs = parse(await cli.ok(['events', '-S', '30s', '-U', new Date(Date.now() + 500).toISOString()], { timeoutMs: 10_000 }));
    assert.ok(evs.some((e) => e.id === id && e.action === 'create'));
  });

  it('events without -U streams live until interrupted', async () => {
    // -S from now: events that happen before the subscription is in place are replayed, not lost
    const s = cli.spawn(['events', '-n', 'live', '-S', new Date(Date.now() - 100).toISOString()]);
    try {
      const id = await cli.runDetached(['--name', 'live'], ['sh', '-c', 'exit 2']);
      await s.waitFor(new RegExp(`container die ${id} \\(.*exitCode=2`));
      await cli.ok(['rm', 'live']);
      await s.waitFor(new RegExp(`container destroy ${id}`));
      assert.ok(
        parse(s.stdout).every((e) => e.id === id),
        s.stdout,
      );
      // Ctrl-C ends the stream quietly (0 here, 130 for a client killed by the signal)
      s.child.kill('SIGINT');
      const code = await s.exit(5000);
      assert.ok(code === 0 || code === 130, `exit ${code}: ${s.stderr}`);
      assert.equal(s.stderr, '');
    } finally {
      s.kill();
    }
  });

  it('events -U in the future ends by itself once that time passes', async () => {
    const s = cli.spawn(['events', '-U', new Date(Date.now() + 1500).toISOString()]);
    try {
      assert.equal(await s.exit(8000), 0);
    } finally {
      s.kill();
    }
  });

  it('events with a bad --since exits 125', async () => {
    const r = await cli.isula(['events', '-S', 'yesterday-ish']);
    assert.equal(r.code, 125, show(r));
  });
});

describe('exec', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
    await cli.runDetached(['--name', 'ex', '-e', 'FROM_RUN=1'], ['sleep', '1000']);
  });
  after(() => cli.engine.cleanup());

  it('exec runs in the container with its env; -e adds, -u and -w set user and directory', async () => {
    assert.equal(
      await cli.ok(['exec', 'ex', 'sh', '-c', 'echo $FROM_RUN; id -u; pwd; hostname']),
      `1\n0\n/\n${(await cli.ok(['inspect', '-f', '{{.Config.Hostname}}', 'ex'])).trim()}\n`,
    );
    assert.equal(
      await cli.ok(['exec', '-e', 'FOO=bar', '-e', 'SP=a b', '-u', '1000', '-w', '/home/app', 'ex', 'sh', '-c', 'echo "$FOO|$SP|$FROM_RUN"; id -u; pwd']),
      'bar|a b|1\n1000\n/home/app\n',
    );
    assert.equal(await cli.ok(['exec', '--user', 'app', '--workdir', '/tmp', 'ex', 'sh', '-c', 'id -un; pwd']), 'app\n/tmp\n');
  });

  it('exec -e NAME without a value takes NAME from the client environment (Docker)', async () => {
    const r = await run(
      ISULA,
      ['-H', cli.engine.host, 'exec', '-e', 'FROM_CLIENT', '-e', 'NOT_SET_ANYWHERE', 'ex', 'sh', '-c', 'echo "[$FROM_CLIENT]"; env | grep -c NOT_SET_ANYWHERE'],
      {
        env: { ...process.env, FROM_CLIENT: 'client value', NOT_SET_ANYWHERE: undefined },
        timeoutMs: 20_000,
      },
    );
    assert.equal(r.stdout, '[client value]\n0\n', show(r));
  });

  it("the exit code of the exec'd process is the client's exit code", async () => {
    for (const code of [0, 1, 7, 42]) {
      const r = await cli.isula(['exec', 'ex', 'sh', '-c', `exit ${code}`]);
      assert.equal(r.code, code, show(r));
    }
  });

  it('exec keeps stdout and stderr apart', async () => {
    const r = await cli.isula(['exec', 'ex', 'sh', '-c', 'echo to-out; echo to-err >&2']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
  });

  it('exec -i feeds stdin to the process; without -i it gets none', async () => {
    let r = await cli.isula(['exec', '-i', 'ex', 'sh', '-c', 'cat; echo eof'], { input: 'line1\nline2\n' });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'line1\nline2\neof\n');
    r = await cli.isula(['exec', 'ex', 'sh', '-c', 'cat; echo eof'], { input: 'ignored\n' });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'eof\n');
  });

  it('exec -d returns at once and the process runs on in the background', async () => {
    const t0 = Date.now();
    const r = await cli.isula(['exec', '-d', 'ex', 'sh', '-c', 'sleep 2; echo done > /tmp/detached']);
    assert.equal(r.code, 0, show(r));
    assert.ok(Date.now() - t0 < 1500, `exec -d took ${Date.now() - t0} ms`);
    assert.equal((await cli.isula(['exec', 'ex', 'cat', '/tmp/detached'])).code, 1);
    await eventually('the detached exec to write its file', async () => {
      const c = await cli.isula(['exec', 'ex', 'cat', '/tmp/detached']);
      return c.code === 0 && c.stdout === 'done\n' ? true : undefined;
    });
  });

  it('exec of a command that does not exist fails with 126/127 and says so', async () => {
    const r = await cli.isula(['exec', 'ex', 'no-such-command']);
    assert.ok(r.code === 126 || r.code === 127, show(r));
    assert.match(r.stderr, /no-such-command/);
  });

  it('exec with an unknown user exits non-zero and names the user', async () => {
    const r = await cli.isula(['exec', '-u', 'nosuchuser', 'ex', 'id']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /nosuchuser/);
  });

  it('exec into a stopped, created or paused container is refused with exit 1', async () => {
    await cli.create(['--name', 'excreated'], ['true']);
    let r = await cli.isula(['exec', 'excreated', 'true']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /is not running/);
    await cli.withRootfs('run', ['--name', 'exstopped'], ['true']);
    r = await cli.isula(['exec', 'exstopped', 'true']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /is not running/);
    await cli.runDetached(['--name', 'expaused'], ['sleep', '1000']);
    await cli.ok(['pause', 'expaused']);
    r = await cli.isula(['exec', 'expaused', 'true']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /paused/);
    await cli.ok(['unpause', 'expaused']);
  });

  it('exec without a command exits 125', async () => {
    const r = await cli.isula(['exec', 'ex']);
    assert.equal(r.code, 125, show(r));
  });

  it("arguments after the container are the command's, even ones that look like options", async () => {
    assert.equal(await cli.ok(['exec', 'ex', 'printf', '%s\\n', '-u', '--user', '-d', '-i']), '-u\n--user\n-d\n-i\n');
  });
});

describe('top, rename, update, attach', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  it("top shows the container's processes and nothing else", async () => {
    await cli.runDetached(['--name', 'tp'], ['sh', '-c', 'sleep 1001 & sleep 1002']);
    await cli.runDetached(['--name', 'tp-other'], ['sleep', '1003']);
    const out = await eventually('both sleeps in top', async () => {
      const o = await cli.ok(['top', 'tp']);
      return /sleep 1001/.test(o) && /sleep 1002/.test(o) ? o : undefined;
    });
    const rows = lines(out);
    assert.match(rows[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.doesNotMatch(out, /sleep 1003/);
    assert.doesNotMatch(out, /isulad|lxc-start|isulad-shim/);
    const pid = (await cli.ok(['inspect', '-f', '{{.State.Pid}}', 'tp'])).trim();
    assert.ok(
      rows.slice(1).some((r) => r.split(/\s+/)[1] === pid),
      `pid ${pid} in\n${out}`,
    );
    assert.ok(rows.length >= 3 && rows.length <= 4, out);
  });

  it('top passes ps options through', async () => {
    const out = lines(await cli.ok(['top', 'tp', '-o', 'pid,comm']));
    assert.match(out[0]!, /^PID\s+COMMAND$/);
    assert.ok(
      out.slice(1).every((l) => /^\d+\s+(sh|sleep)$/.test(l)),
      out.join('\n'),
    );
  });

  it('top of a container that is not running exits 1', async () => {
    await cli.create(['--name', 'tp-created'], ['true']);
    const r = await cli.isula(['top', 'tp-created']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /is not running/);
  });

  it('rename changes the name everywhere; the old name is free again', async () => {
    const id = await cli.runDetached(['--name', 'old'], ['sleep', '1000']);
    const r = await cli.isula(['rename', 'old', 'new']);
    assert.equal(r.code, 0, show(r));
    assert.equal(await cli.ok(['inspect', '-f', '{{.Name}}', id]), 'new\n');
    assert.equal(await cli.ok(['ps', '-f', `id=${id}`, '--format', '{{.Names}}']), 'new\n');
    const gone = await cli.isula(['inspect', 'old']);
    assert.equal(gone.code, 1, show(gone));
    assert.equal(await cli.ok(['exec', 'new', 'echo', 'still-running']), 'still-running\n');
    await cli.create(['--name', 'old'], ['true']);
  });

  it('rename to a name in use exits 3 and changes nothing; bad names 125; unknown containers 1', async () => {
    let r = await cli.isula(['rename', 'new', 'old']);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, /"old" is already in use/);
    assert.equal(await cli.ok(['inspect', '-f', '{{.Name}} {{.State.Status}}', 'new']), 'new running\n');
    assert.equal(await cli.ok(['inspect', '-f', '{{.Name}} {{.State.Status}}', 'old']), 'old inited\n');
    r = await cli.isula(['rename', 'new', 'bad name!']);
    assert.equal(r.code, 125, show(r));
    r = await cli.isula(['rename', 'no-such-ctr', 'whatever']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /No such container: no-such-ctr/);
  });

  it('update -m on a running container changes the limit seen inside and in inspect', async () => {
    await cli.runDetached(['--name', 'up', '-m', '64m'], ['sleep', '1000']);
    assert.equal(await cli.ok(['exec', 'up', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']), '67108864\n');
    assert.equal(await cli.ok(['update', '-m', '128m', 'up']), 'up\n');
    assert.equal(await cli.ok(['exec', 'up', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']), '134217728\n');
    assert.equal(await cli.ok(['inspect', '-f', '{{.HostConfig.Memory}}', 'up']), '134217728\n');
  });

  it('update --cpu-shares and --pids-limit reach the cgroup; the limit survives a restart', async () => {
    await cli.ok(['update', '--cpu-shares', '256', '--pids-limit', '40', 'up']);
    assert.equal(await cli.ok(['exec', 'up', 'cat', '/sys/fs/cgroup/cpu/cpu.shares', '/sys/fs/cgroup/pids/pids.max']), '256\n40\n');
    await cli.ok(['restart', '-t', '0', 'up']);
    assert.equal(
      await cli.ok(['exec', 'up', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.shares', '/sys/fs/cgroup/pids/pids.max']),
      '134217728\n256\n40\n',
    );
  });

  it('update of a stopped container applies at its next start', async () => {
    await cli.ok(['stop', '-t', '0', 'up']);
    await cli.ok(['update', '-m', '96m', 'up']);
    await cli.ok(['start', 'up']);
    assert.equal(await cli.ok(['exec', 'up', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']), `${96 * 1024 * 1024}\n`);
  });

  it('update without flags or with a bad value exits 125; of an unknown container 1', async () => {
    let r = await cli.isula(['update', 'up']);
    assert.equal(r.code, 125, show(r));
    r = await cli.isula(['update', '-m', 'lots', 'up']);
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /lots/);
    r = await cli.isula(['update', '-m', '64m', 'no-such-ctr']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /No such container: no-such-ctr/);
  });

  it('attach to a container started with -i: input reaches it and its output comes back', async () => {
    await cli.runDetached(['-i', '--name', 'att'], ['sh', '-c', 'while read l; do echo "got:$l"; echo "err:$l" >&2; [ "$l" = quit ] && exit 5; done']);
    const a = cli.spawn(['attach', 'att']);
    try {
      a.write('hello\n');
      await a.waitFor(/got:hello\n/);
      assert.equal(a.stdout, 'got:hello\n');
      await eventually('stderr of the container', async () => (/err:hello\n/.test(a.stderr) ? true : undefined));
      a.write('quit\n');
      assert.equal(await a.exit(5000), 5);
      assert.equal(a.stdout, 'got:hello\ngot:quit\n');
    } finally {
      a.kill();
    }
    assert.equal(await cli.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'att']), 'exited 5\n');
  });

  it('attach to a container that is not running exits 1 at once', async () => {
    await cli.create(['--name', 'att-created'], ['true']);
    for (const name of ['att-created', 'att']) {
      const r = await cli.isula(['attach', name], { timeoutMs: 10_000 });
      assert.equal(r.code, 1, `${name}: ${show(r)}`);
      assert.match(r.stderr, /not running|stopped/, name);
    }
  });

  it('attach to a paused container exits 1 at once', async () => {
    await cli.runDetached(['-i', '--name', 'att-paused'], ['cat']);
    await cli.ok(['pause', 'att-paused']);
    const r = await cli.isula(['attach', 'att-paused'], { timeoutMs: 10_000 });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /paused/);
  });
});
