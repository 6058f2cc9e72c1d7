import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ISULA, run, TestEngine, type RunResult } from '../helpers/engine.js';
import { busyboxRootfs, systemRootfs } from '../helpers/rootfs.js';

/**
 * Live restore: SIGKILL of isulad never stops a container. Containers keep running (and
 * logging) while the daemon is down, exits that happen meanwhile are picked up, and the
 * restarted daemon manages them as if it had never gone away.
 */

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

const ok = (r: RunResult, what = ''): void => assert.equal(r.code, 0, `${what} exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

/** A live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+[ZX]/m.test(status);
  } catch {
    return false;
  }
}

/** The counter's output as numbers; asserts every line is a number and there is no gap or repeat. */
function sequence(stdout: string): number[] {
  const nums = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      assert.match(l, /^\d+$/, `not a counter line: ${JSON.stringify(l)}`);
      return Number(l);
    });
  for (const [i, n] of nums.entries())
    assert.equal(n, i, `counter output has a gap or repeat at line ${i}: ...${nums.slice(Math.max(0, i - 3), i + 3).join(',')}...`);
  return nums;
}

const COUNTER = 'trap "exit 143" TERM; i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done';

describe('live restore: SIGKILL of the daemon never stops a container', () => {
  let engine: TestEngine;
  let rootfs = '';
  let sysroot = '';
  const pids: Record<string, number> = {};
  let lastBeforeKill = -1;
  const followers: ChildProcess[] = [];

  const isula = (args: string[], timeoutMs?: number): Promise<RunResult> => engine.isula(args, timeoutMs ? { timeoutMs } : {});
  const state = async (name: string, field: string): Promise<string> => {
    const r = await isula(['inspect', '-f', `{{.State.${field}}}`, name]);
    ok(r, `inspect ${name}`);
    return r.stdout.trim();
  };
  const runD = async (name: string, args: string[]): Promise<void> => {
    const r = await isula(['run', '-d', '--name', name, ...args]);
    ok(r, `run ${name}`);
    pids[name] = Number(await state(name, 'Pid'));
    assert.ok(pids[name]! > 0, `${name} has a host pid`);
  };
  const counterLogs = async (): Promise<number[]> => {
    const r = await isula(['logs', 'cnt']);
    ok(r, 'logs cnt');
    return sequence(r.stdout);
  };
  const psLine = async (name: string): Promise<string | undefined> => {
    const r = await isula(['ps', '-a']);
    ok(r, 'ps -a');
    return r.stdout.split('\n').find((l) => new RegExp(` ${name}$`).test(l.trimEnd()));
  };
  /** Starts `isula logs -f cnt`; resolves the collected stdout when the client exits. */
  const follow = (): { out: () => string; exited: Promise<number | null> } => {
    const child = spawn(ISULA, ['-H', engine.host, 'logs', '-f', 'cnt'], { stdio: ['ignore', 'pipe', 'pipe'] });
    followers.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    return { out: () => out, exited };
  };

  before(async () => {
    rootfs = busyboxRootfs();
    sysroot = systemRootfs();
    engine = await TestEngine.start();
  });
  after(async () => {
    for (const f of followers) if (f.exitCode === null && f.signalCode === null) f.kill('SIGKILL');
    await engine.cleanup();
  });

  it('run -d containers keep running while the daemon is killed with SIGKILL', async () => {
    await runD('cnt', ['--external-rootfs', rootfs, 'none', 'sh', '-c', COUNTER]);
    await runD('slp', ['--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    await runD('sys', ['--system-container', '--external-rootfs', sysroot, 'none', '/sbin/init']);
    await runD('psd', ['--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    await runD('rmr', ['--rm', '--external-rootfs', rootfs, 'none', 'sleep', '1000']);
    ok(await isula(['pause', 'psd']), 'pause');
    assert.equal(await state('psd', 'Status'), 'paused');
    await until('the counter to print', async () => (await counterLogs()).length >= 5);
    // These two exit while the daemon is down; the daemon is killed right after they start.
    await runD('ex7', ['--external-rootfs', rootfs, 'none', 'sh', '-c', 'sleep 2; echo last words; exit 7']);
    await runD('rmc', ['--rm', '--external-rootfs', rootfs, 'none', 'sh', '-c', 'sleep 2; exit 3']);
    lastBeforeKill = (await counterLogs()).length - 1;

    await engine.kill9();
    for (const name of ['cnt', 'slp', 'sys', 'psd', 'rmr']) assert.ok(alive(pids[name]!), `${name} (pid ${pids[name]}) survives SIGKILL of the daemon`);
    await until('ex7 and rmc to exit while the daemon is down', () => !alive(pids.ex7!) && !alive(pids.rmc!), 8000);
    await sleep(1000);
    for (const name of ['cnt', 'slp', 'sys', 'psd', 'rmr']) assert.ok(alive(pids[name]!), `${name} (pid ${pids[name]}) still alive with no daemon`);
    await engine.startDaemon();
  });

  it('ps shows the restored containers running, with the same pids', async () => {
    for (const name of ['cnt', 'slp', 'sys', 'rmr']) {
      assert.match((await psLine(name)) ?? '', /\bUp\b/, `${name} in ps`);
      assert.equal(await state(name, 'Status'), 'running', name);
      assert.equal(Number(await state(name, 'Pid')), pids[name], `${name} pid`);
    }
    assert.match((await psLine('psd')) ?? '', /\(Paused\)/);
  });

  it('exec works in restored containers', async () => {
    const r = await isula(['exec', 'cnt', 'echo', 'hi']);
    ok(r, 'exec cnt');
    assert.equal(r.stdout, 'hi\n');
    const s = await isula(['exec', 'sys', 'cat', '/proc/1/cmdline']);
    ok(s, 'exec sys');
    assert.match(s.stdout, /^(\/sbin\/)?init\0/);
    const e = await isula(['exec', 'slp', 'sh', '-c', 'exit 5']);
    assert.equal(e.code, 5, 'exec exit code passes through');
  });

  it('logs have no gap: output written while the daemon was down is kept', async () => {
    // ~3 s of outage at ~10 lines/s: the sequence must run on, contiguous, past the kill.
    let nums: number[] = [];
    await until('the counter to run past the outage', async () => (nums = await counterLogs()).length > lastBeforeKill + 15);
    assert.ok(nums.length > lastBeforeKill + 15);
  });

  it('logs -f follows new output of a restored container', async () => {
    const seen = (await counterLogs()).length;
    const f = follow();
    await until('logs -f to show new lines', () => {
      const out = f.out();
      return out.endsWith('\n') && sequence(out).length > seen + 5;
    });
    sequence(f.out());
  });

  it('logs -f piped into a reader that stops early exits quietly (no EPIPE crash)', async () => {
    // head exits after one line while the counter keeps producing: the client's next write
    // hits a closed pipe and must end the client, not print a Node stack trace.
    const r = await run('bash', ['-c', `${ISULA} -H ${engine.host} logs -f cnt | head -n 1; echo "rc=\${PIPESTATUS[0]}" >&2`], { timeoutMs: 15_000 });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\n$/);
    assert.doesNotMatch(r.stderr, /Unhandled 'error' event|EPIPE|node:events/, r.stderr);
    assert.match(r.stderr, /^rc=(0|141)\n$/, 'the client exits 0 or dies of SIGPIPE');
  });

  it('a container that exited while the daemon was down shows exited with its exit code; wait prints it', async () => {
    assert.equal(await state('ex7', 'Status'), 'exited');
    assert.equal(await state('ex7', 'ExitCode'), '7');
    assert.match((await psLine('ex7')) ?? '', /Exited \(7\)/);
    const w = await isula(['wait', 'ex7']);
    ok(w, 'wait');
    assert.equal(w.stdout, '7\n');
  });

  it('what a container wrote just before exiting while the daemon was down is in its logs', async () => {
    const logs = await isula(['logs', 'ex7']);
    ok(logs, 'logs');
    assert.equal(logs.stdout, 'last words\n');
  });

  it('a --rm container that exited while the daemon was down is removed after the restart', async () => {
    await until('rmc to be removed', async () => (await isula(['inspect', 'rmc'])).code !== 0);
    assert.equal(await psLine('rmc'), undefined);
  });

  it('a --rm container still running after the restart is removed when it stops', async () => {
    ok(await isula(['stop', '-t', '1', 'rmr'], 30_000), 'stop rmr');
    await until('rmr to be removed', async () => (await isula(['inspect', 'rmr'])).code !== 0);
    assert.equal(await psLine('rmr'), undefined);
    assert.ok(!alive(pids.rmr!));
  });

  it('a paused container stays paused across the restart and can be unpaused', async () => {
    assert.equal(await state('psd', 'Status'), 'paused');
    assert.equal(await state('psd', 'Paused'), 'true');
    assert.ok(alive(pids.psd!));
    ok(await isula(['unpause', 'psd']), 'unpause');
    assert.equal(await state('psd', 'Status'), 'running');
    const r = await isula(['exec', 'psd', 'echo', 'thawed']);
    ok(r, 'exec after unpause');
    assert.equal(r.stdout, 'thawed\n');
  });

  it('a second SIGKILL / restart cycle works too', async () => {
    ok(await isula(['pause', 'psd']), 'pause again');
    await runD('ex9', ['--external-rootfs', rootfs, 'none', 'sh', '-c', 'sleep 1; exit 9']);
    const before = (await counterLogs()).length - 1;
    await engine.kill9();
    for (const name of ['cnt', 'slp', 'sys', 'psd']) assert.ok(alive(pids[name]!), `${name} survives the second SIGKILL`);
    await until('ex9 to exit while the daemon is down', () => !alive(pids.ex9!), 5000);
    await sleep(500);
    await engine.startDaemon();
    for (const name of ['cnt', 'slp', 'sys']) {
      assert.equal(await state(name, 'Status'), 'running', name);
      assert.equal(Number(await state(name, 'Pid')), pids[name], `${name} pid`);
    }
    assert.equal(await state('psd', 'Status'), 'paused');
    ok(await isula(['unpause', 'psd']), 'unpause after the second restart');
    const r = await isula(['exec', 'slp', 'echo', 'again']);
    ok(r, 'exec');
    assert.equal(r.stdout, 'again\n');
    assert.equal(await state('ex9', 'Status'), 'exited');
    assert.equal(await state('ex9', 'ExitCode'), '9');
    const w = await isula(['wait', 'ex9']);
    assert.equal(w.stdout, '9\n');
    await until('the counter to run past the second outage', async () => (await counterLogs()).length > before + 10);
  });

  it('stop works on restored containers and gives the right exit code', async () => {
    const f = follow();
    await until('logs -f to start', () => f.out().length > 0);
    const stop = await isula(['stop', 'cnt'], 30_000);
    ok(stop, 'stop cnt');
    assert.equal(stop.stdout, 'cnt\n');
    assert.equal(await state('cnt', 'Status'), 'exited');
    assert.equal(await state('cnt', 'ExitCode'), '143');
    assert.ok(!alive(pids.cnt!), 'the counter process is gone');
    const w = await isula(['wait', 'cnt']);
    assert.equal(w.stdout, '143\n');
    // logs -f ends when the followed container stops
    const code = await Promise.race([f.exited, sleep(5000).then(() => 'still running')]);
    assert.equal(code, 0, 'logs -f exits 0 when the container stops');

    const t0 = Date.now();
    ok(await isula(['stop', '-t', '1', 'slp'], 30_000), 'stop -t 1 slp');
    assert.ok(Date.now() - t0 < 8000, 'stop -t 1 does not wait the default 10 s');
    assert.equal(await state('slp', 'ExitCode'), '137');
    assert.ok(!alive(pids.slp!));

    ok(await isula(['stop', 'sys'], 30_000), 'stop sys');
    assert.equal(await state('sys', 'Status'), 'exited');
    assert.ok(!alive(pids.sys!));

    ok(await isula(['stop', '-t', '1', 'psd'], 30_000), 'stop psd');
    assert.equal(await state('psd', 'Status'), 'exited');
  });

  it('restored containers can be started again and removed', async () => {
    ok(await isula(['start', 'slp']), 'start slp');
    assert.equal(await state('slp', 'Status'), 'running');
    ok(await isula(['rm', '-f', 'slp', 'cnt', 'sys', 'psd', 'ex7', 'ex9']), 'rm');
    const ps = await isula(['ps', '-a', '-q']);
    assert.equal(ps.stdout, '');
  });
});

/**
 * A container's open stdin (-i) outlives the daemon too: a holder keeps the stdin FIFO open
 * while no daemon is there, so the container sees no EOF, and `attach` after the restart
 * reaches its stdin, whose end still ends the container's input.
 */
describe('live restore: containers with an open stdin', () => {
  let engine: TestEngine;
  let rootfs = '';
  const pids: Record<string, number> = {};
  let client: ChildProcess | undefined;
  const READER = 'while read l; do echo "got $l"; done; echo eof; exit 4';

  const isula = (args: string[], input?: string): Promise<RunResult> => engine.isula(args, input === undefined ? {} : { input });
  const field = async (name: string, f: string): Promise<string> => {
    const r = await isula(['inspect', '-f', `{{.State.${f}}}`, name]);
    ok(r, `inspect ${name}`);
    return r.stdout.trim();
  };

  before(async () => {
    rootfs = busyboxRootfs();
    engine = await TestEngine.start();
  });
  after(async () => {
    if (client && client.exitCode === null && client.signalCode === null) client.kill('SIGKILL');
    // A failure while the daemon was down: bring it back so the containers are removed.
    if (engine.pid > 0 && !fs.existsSync(`/proc/${engine.pid}`)) await engine.startDaemon().catch(() => undefined);
    await engine.cleanup();
  });

  it('run -itd, run -id and an attached run -i keep running across SIGKILL and SIGTERM of the daemon', async () => {
    ok(await isula(['run', '-itd', '--name', 'tsh', '--external-rootfs', rootfs, 'none', 'sh']), 'run -itd');
    ok(await isula(['run', '-id', '--name', 'ish', '--external-rootfs', rootfs, 'none', 'sh', '-c', READER]), 'run -id');
    // `run -i` with its stdin from a pipe the test keeps open.
    client = spawn(ISULA, ['-H', engine.host, 'run', '-i', '--name', 'pipe', '--external-rootfs', rootfs, 'none', 'sh', '-c', READER], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    client.stdin!.on('error', () => undefined);
    client.stdin!.write('a\n');
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the attached run -i to echo its input', () => out.includes('got a'));
    for (const name of ['tsh', 'ish', 'pipe']) pids[name] = Number(await field(name, 'Pid'));

    await engine.kill9();
    await sleep(1500);
    for (const name of ['tsh', 'ish', 'pipe']) assert.ok(alive(pids[name]!), `${name} survives SIGKILL of the daemon`);
    await engine.startDaemon();
    for (const name of ['tsh', 'ish', 'pipe']) assert.equal(await field(name, 'Status'), 'running', `${name} after SIGKILL`);

    assert.equal(await engine.stop(), 0, 'graceful stop');
    await sleep(1500);
    for (const name of ['tsh', 'ish', 'pipe']) assert.ok(alive(pids[name]!), `${name} survives SIGTERM of the daemon`);
    await engine.startDaemon();
    for (const name of ['tsh', 'ish', 'pipe']) assert.equal(await field(name, 'Status'), 'running', `${name} after SIGTERM`);
  });

  it('attach after the restart reaches stdin, and the end of its input ends the container’s', async () => {
    for (const name of ['ish', 'pipe']) {
      const r = await isula(['attach', name], 'x\n');
      assert.equal(r.code, 4, `attach ${name}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stdout, /got x\neof\n/);
      assert.equal(await field(name, 'Status'), 'exited');
    }
    const logs = await isula(['logs', 'pipe']);
    assert.match(logs.stdout, /got a\ngot x\neof\n/, 'input before and after the restart reached the same shell');
    const e = await isula(['exec', 'tsh', 'echo', 'alive']);
    ok(e, 'exec in the -itd shell');
    ok(await isula(['rm', '-f', 'tsh', 'ish', 'pipe']), 'rm');
  });
});
