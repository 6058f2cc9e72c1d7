import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeMessage } from '../../src/api/codec.js';
import { frameMessage } from '../../src/api/grpc-framing.js';
import { grpcPath } from '../../src/api/rpc.js';
import { Cli, eventually, show, sleepMs } from '../helpers/cli.js';
import { ISULA, ISULAD, run, TestEngine } from '../helpers/engine.js';
import { busyboxRootfs } from '../helpers/rootfs.js';

/**
 * What a slow or hostile client, or a file a user names, can make the daemon hold: nothing
 * past the limits of docs/design.md ("Limits on what the daemon reads and buffers"). A test
 * that would fill memory on a daemon without them stops at a bound and fails instead.
 */

const MiB = 1024 * 1024;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Samples a process's RSS; past `limitMb` above where it started, calls `over` once (to stop what grows it). */
function watchRss(pid: number, limitMb: number, over: () => void): { stop(): number } {
  const base = rssKb(pid);
  let peak = base;
  let tripped = false;
  const timer = setInterval(() => {
    let now: number;
    try {
      now = rssKb(pid);
    } catch {
      return;
    }
    peak = Math.max(peak, now);
    if (!tripped && now - base > limitMb * 1024) {
      tripped = true;
      over();
    }
  }, 50);
  return {
    /** The growth at its peak, in MB. */
    stop() {
      clearInterval(timer);
      return (peak - base) / 1024;
    },
  };
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

/** Lets a reader blocked on `fifo` (a daemon without these limits) see end of file. */
function releaseFifo(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // no reader: nothing waits on it
  }
}

describe('files a user names', () => {
  let cli: Cli;
  let tmp: string;
  let fifo: string;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bounds-test-'));
    fifo = path.join(tmp, 'fifo');
    mkfifo(fifo);
  });
  after(async () => {
    releaseFifo(fifo);
    await cli.engine.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const refused = async (flags: string[], why: RegExp): Promise<void> => {
    const before = await cli.ok(['ps', '-a', '-q']);
    const r = await cli.withRootfs('create', flags, ['true'], { timeoutMs: 10_000 });
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, why, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
    assert.equal(await cli.ok(['ps', '-a', '-q']), before);
  };

  it('a FIFO as --hook-spec is refused at once, and the daemon goes on answering', async () => {
    try {
      await refused(['--hook-spec', fifo], /--hook-spec .*fifo: not a regular file/);
    } finally {
      releaseFifo(fifo);
    }
    await cli.ok(['version'], { timeoutMs: 5000 });
  });

  it('--hook-spec /dev/zero is refused without the daemon reading it', async () => {
    let killed = false;
    const watch = watchRss(cli.engine.pid, 300, () => {
      killed = true;
      void cli.engine.kill9();
    });
    try {
      await refused(['--hook-spec', '/dev/zero'], /--hook-spec \/dev\/zero: not a regular file/);
    } finally {
      watch.stop();
      // The next tests want a daemon.
      if (killed) await cli.engine.restart();
    }
    assert.ok(!killed, 'the daemon grew by 300 MB reading /dev/zero');
  });

  it('a hook spec over 1 MiB is refused as too large', async () => {
    const big = path.join(tmp, 'hooks.json');
    fs.writeFileSync(big, `{"prestart": []}${' '.repeat(MiB + 1)}`);
    await refused(['--hook-spec', big], /--hook-spec .*hooks\.json: larger than the limit of 1 MiB/);
  });

  it('a daemon whose default hook spec is a FIFO does not start, and says why', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounds-daemon-'));
    fs.writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
    const args = [
      '-g',
      path.join(dir, 'root'),
      '-S',
      path.join(dir, 'state'),
      '-H',
      `unix://${dir}/sock`,
      '-p',
      path.join(dir, 'pid'),
      '--config-file',
      path.join(dir, 'daemon.json'),
      '--hook-spec',
      fifo,
    ];
    try {
      const r = await run(ISULAD, args, { timeoutMs: 15_000 });
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, /--hook-spec .*fifo: not a regular file/, show(r));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a FIFO as --label-file is refused at once by the client', async () => {
    try {
      await refused(['--label-file', fifo], /invalid label file .*fifo: not a regular file/);
    } finally {
      releaseFifo(fifo);
    }
  });

  it('an env file over 1 MiB is refused as too large', async () => {
    const big = path.join(tmp, 'big.env');
    fs.writeFileSync(big, Array.from({ length: 20_000 }, (_, i) => `V${i}=${'x'.repeat(100)}`).join('\n'));
    await refused(['--env-file', big], /invalid env file .*big\.env: larger than the limit of 1 MiB/);
  });

  it('create refuses more than 8192 variables, and a variable over 128 KiB', async () => {
    const many = path.join(tmp, 'many.env');
    fs.writeFileSync(many, Array.from({ length: 9000 }, (_, i) => `V${i}=1`).join('\n'));
    await refused(['--env-file', many], /too many environment variables \(9001, with the image's and PATH\): at most 8192/);
    const long = path.join(tmp, 'long.env');
    fs.writeFileSync(long, `LONG=${'y'.repeat(200 * 1024)}\n`);
    await refused(['--env-file', long], /environment variable "LONG=yyy.*is 204805 bytes: at most 131071/);
  });

  it('a container with 8000 variables (under the cap) starts and sees them all', async () => {
    const ok = path.join(tmp, 'ok.env');
    fs.writeFileSync(ok, Array.from({ length: 8000 }, (_, i) => `V${i}=${i}`).join('\n'));
    const r = await cli.withRootfs('run', ['--rm', '--env-file', ok], ['sh', '-c', 'env | grep -c ^V'], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.trim(), '8000');
  });
});

interface RawResult {
  status: string | undefined;
  message: string | undefined;
}

/** A raw gRPC call: `prefix` says how long the message is; `body` is what is sent of it. */
function rawCall(client: http2.ClientHttp2Session, method: string, prefix: number, body: Buffer, end: boolean): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = client.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
    const result: RawResult = { status: undefined, message: undefined };
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        result.status = String(h['grpc-status']);
        result.message = String(h['grpc-message'] ?? '');
        // A status ends the call, also for a request not sent to its end.
        resolve(result);
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('error', () => undefined);
    req.on('data', () => undefined);
    req.on('close', () => resolve(result));
    const head = Buffer.alloc(5);
    head.writeUInt32BE(prefix, 1);
    req.write(Buffer.concat([head, body]));
    if (end) req.end();
  });
}

describe('gRPC limits', () => {
  let engine: TestEngine;
  before(async () => {
    engine = await TestEngine.start();
  });
  after(() => engine.cleanup());

  const connect = (): Promise<http2.ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const client = http2.connect('http://localhost', { path: engine.sock } as http2.SecureClientSessionOptions);
      client.once('remoteSettings', () => resolve(client));
      client.once('error', reject);
    });

  it('a connection may carry 100 calls at once', async () => {
    const client = await connect();
    try {
      assert.equal(client.remoteSettings.maxConcurrentStreams, 100);
    } finally {
      client.close();
    }
  });

  it('a message over 4 MiB gets RESOURCE_EXHAUSTED (8)', async () => {
    const client = await connect();
    try {
      const version = grpcPath('SystemService/Version');
      const message = encodeMessage({ pad: 'p'.repeat(5 * MiB) });
      const r = await rawCall(client, version, message.length, message, true);
      assert.equal(r.status, '8', JSON.stringify(r));
      assert.match(r.message ?? '', /larger than max/);
      // A message within the limit is still answered.
      const small = frameMessage(encodeMessage({}));
      const ok = await rawCall(client, version, small.readUInt32BE(1), small.subarray(5), true);
      assert.equal(ok.status, '0', JSON.stringify(ok));
    } finally {
      client.close();
    }
  });

  it('100 calls each holding most of a 4 MiB message: past 64 MiB they are refused, and the daemon stays bounded', async () => {
    const clients = await Promise.all(Array.from({ length: 25 }, () => connect()));
    const watch = watchRss(engine.pid, 250, () => {
      for (const c of clients) c.destroy();
    });
    try {
      const part = Buffer.alloc(4 * MiB - 100 * 1024, 1);
      const calls = Array.from({ length: 100 }, (_, i) => rawCall(clients[i % clients.length]!, grpcPath('SystemService/Version'), 4 * MiB, part, false));
      // The refused ones end at once (with RESOURCE_EXHAUSTED; node:http2 resets a connection
      // that goes on sending for them); the others wait for the rest of their message.
      let seen = '';
      const ended = await eventually(
        'calls past the buffer limit to be refused',
        async () => {
          const settled = await Promise.all(calls.map((c) => Promise.race([c, sleepMs(10).then(() => undefined)])));
          seen = JSON.stringify(settled.map((r) => r?.status ?? (r ? 'reset' : 'open')));
          const done = settled.filter((r) => r !== undefined);
          return done.length >= 80 ? done : undefined;
        },
        30_000,
      ).catch((e: Error) => assert.fail(`${e.message}: ${seen}`));
      const refusedCalls = ended.filter((r) => r.status === '8');
      assert.ok(refusedCalls.length > 0, seen);
      assert.match(refusedCalls[0]!.message ?? '', /more than 64 MiB of requests/);
    } finally {
      const grown = watch.stop();
      for (const c of clients) c.destroy();
      assert.ok(grown < 250, `the daemon grew by ${grown.toFixed(0)} MB`);
    }
    await engine.isula(['version'], { timeoutMs: 10_000 });
  });
});

describe('a client that does not read', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  it('logs -f stopped while the container prints 300 MB: the daemon stays bounded, the call ends, the log gets everything', async () => {
    // 300 MB in lines of 4 KiB, then a marker; the container stays running, so logs -f follows on.
    const script =
      'sleep 1; line=$(head -c 4095 /dev/zero | tr "\\0" a); i=0; while [ $i -lt 75000 ]; do echo "$line"; i=$((i+1)); done; echo DONE; sleep 1000';
    const id = await cli.runDetached([], ['sh', '-c', script]);
    const logPath = (await cli.ok(['inspect', '-f', '{{.LogPath}}', id])).trim();
    const client = spawn(ISULA, ['-H', cli.engine.host, 'logs', '-f', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    client.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)));
    await sleepMs(300);
    client.kill('SIGSTOP');
    const watch = watchRss(cli.engine.pid, 100, () => client.kill('SIGKILL'));
    let grown = 0;
    try {
      const done = (): true | undefined => {
        try {
          return fs.readFileSync(logPath, 'utf8').includes('DONE') ? true : undefined;
        } catch {
          return undefined; // not written yet, or being rotated
        }
      };
      await eventually('the container to finish printing', done, 120_000);
    } finally {
      grown = watch.stop();
      client.kill('SIGCONT');
    }
    assert.ok(grown < 100, `the daemon grew by ${grown.toFixed(0)} MB for a client that does not read`);
    // Resumed, the client reads what it was sent, then why the daemon ended its call.
    client.stdout.resume();
    const code = await Promise.race([exited, sleepMs(20_000).then(() => 'hung')]);
    assert.notEqual(code, 0, stderr);
    assert.notEqual(code, 'hung', stderr);
    assert.match(stderr, /not reading its output: more than 8 MiB unsent/);
  });
});

describe('an exec whose client does not read', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  it('waits for its client: stopped while the process writes 300 MB, the daemon stays bounded, and resumed the client gets it all', async () => {
    const id = await cli.runDetached([], ['sleep', '1000']);
    const client = spawn(ISULA, ['-H', cli.engine.host, 'exec', id, 'sh', '-c', 'head -c 300000000 /dev/zero'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    client.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)));
    client.stdout.on('data', (d: Buffer) => (bytes += d.length));
    await eventually('the exec to start writing', () => (bytes > 0 ? true : undefined), 10_000);
    client.kill('SIGSTOP');
    const watch = watchRss(cli.engine.pid, 100, () => client.kill('SIGKILL'));
    await sleepMs(5000);
    const grown = watch.stop();
    client.kill('SIGCONT');
    assert.ok(grown < 100, `the daemon grew by ${grown.toFixed(0)} MB for an exec client that does not read`);
    const code = await Promise.race([exited, sleepMs(60_000).then(() => 'hung')]);
    assert.equal(code, 0, stderr);
    // stdout 'data' may still be on its way after 'exit'.
    await eventually('all the output', () => (bytes === 300_000_000 ? true : undefined), 10_000);
  });
});

describe('a container that does not read its stdin', () => {
  let cli: Cli;
  before(async () => {
    cli = new Cli(await TestEngine.start(), busyboxRootfs());
  });
  after(() => cli.engine.cleanup());

  it('run -i fed 200 MB that nothing reads: the daemon reads no faster than the container, so it stays bounded', async () => {
    const client = spawn(ISULA, ['-H', cli.engine.host, 'run', '-i', '--name', 'deaf', '--external-rootfs', cli.rootfs, 'none', 'sleep', '1000'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    client.stdin.on('error', () => undefined);
    await eventually('the container to run', async () =>
      (await cli.isula(['inspect', '-f', '{{.State.Status}}', 'deaf'])).stdout.trim() === 'running' ? true : undefined,
    );
    const watch = watchRss(cli.engine.pid, 100, () => client.kill('SIGKILL'));
    const chunk = Buffer.alloc(MiB, 0x61);
    const until = Date.now() + 15_000;
    for (let sent = 0; sent < 200 && Date.now() < until && client.exitCode === null; sent++) {
      if (!client.stdin.write(chunk)) await Promise.race([new Promise((resolve) => client.stdin.once('drain', resolve)), sleepMs(500)]);
    }
    await sleepMs(1000);
    const grown = watch.stop();
    client.kill('SIGKILL');
    assert.ok(grown < 100, `the daemon grew by ${grown.toFixed(0)} MB holding stdin nobody reads`);
    assert.match(await cli.status('deaf'), /^running/);
  });
});
