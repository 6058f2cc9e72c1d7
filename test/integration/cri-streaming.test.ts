import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/sys/log.js';
import { StreamingServer } from '../../src/streaming/index.js';
import { SPDY3_DICTIONARY } from '../../src/streaming/spdy-dictionary.js';
import { TokenCache } from '../../src/streaming/tokens.js';
import { HostBackend } from '../helpers/host-backend.js';
import { readAll, SpdyClient, upgrade, WsClient } from '../helpers/streaming-clients.js';

// The CRI streaming server (src/streaming/) with clients written from the specs, against a
// backend of host processes.

const backend = new HostBackend();
const server = new StreamingServer({ host: '127.0.0.1', port: 0, log: silentLogger, backend, maxSessions: 4 });
before(() => server.start());
after(() => server.stop());

const exec = (cmd: string[], o: Partial<{ tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }> = {}): string =>
  server.execUrl({ containerId: 'c1', cmd, tty: false, stdin: false, stdout: true, stderr: true, ...o });

async function spdy(url: string, protocols = ['v4.channel.k8s.io']): Promise<SpdyClient> {
  const r = await upgrade(url, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols });
  assert.equal(r.status, 101, r.head);
  return new SpdyClient(r.socket, r.rest);
}

async function ws(url: string, protocol = 'v4.channel.k8s.io'): Promise<WsClient> {
  const key = WsClient.key();
  const r = await upgrade(url, {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': protocol,
  });
  assert.equal(r.status, 101, r.head);
  assert.match(
    r.head,
    new RegExp(
      `Sec-WebSocket-Accept: ${crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64').replace(/[+/]/g, '\\$&')}`,
    ),
  );
  return new WsClient(r.socket, r.rest);
}

describe('streaming tokens', () => {
  it("uses SPDY/3's dictionary", () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(crypto.createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('hands out 43-character URL-safe tokens that work once, for their kind only, and expire', () => {
    let now = 0;
    const cache = new TokenCache(60_000, 3, () => now);
    const req = { kind: 'portforward' as const, request: { podId: 'p' } };
    const t = cache.insert(req);
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(cache.take(t, 'exec'), undefined, 'wrong kind');
    assert.equal(cache.take(t, 'portforward'), undefined, 'a failed take burns the token');
    const t2 = cache.insert(req);
    assert.deepEqual(cache.take(t2, 'portforward'), req);
    assert.equal(cache.take(t2, 'portforward'), undefined, 'single use');
    const t3 = cache.insert(req);
    now = 60_000;
    assert.equal(cache.take(t3, 'portforward'), undefined, 'expired');
  });

  it('refuses more than its limit of unused tokens with ResourceExhausted, until they expire', () => {
    let now = 0;
    const cache = new TokenCache(60_000, 2, () => now);
    const req = { kind: 'portforward' as const, request: { podId: 'p' } };
    cache.insert(req);
    cache.insert(req);
    assert.throws(
      () => cache.insert(req),
      (e: Error & { kind?: string }) => e.kind === 'ResourceExhausted',
    );
    now = 60_001;
    cache.insert(req);
    assert.equal(cache.size, 1);
  });
});

describe('CRI streaming server over SPDY/3.1', () => {
  it('runs a command: stdout and stderr apart, exit 0 as a Success status on the error stream', async () => {
    const c = await spdy(exec(['sh', '-c', 'echo out; echo err >&2']));
    const error = await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    const stderr = await c.open({ streamtype: 'stderr' });
    await c.until(() => error.fin && stdout.fin && stderr.fin, 10_000, 'all streams to finish');
    assert.ok(stdout.replied && stderr.replied && error.replied, 'every stream gets a SYN_REPLY');
    assert.equal(c.text(stdout), 'out\n');
    assert.equal(c.text(stderr), 'err\n');
    assert.deepEqual(JSON.parse(c.text(error)), { metadata: {}, status: 'Success' });
    c.socket.destroy();
  });

  it('reports a non-zero exit as NonZeroExitCode with the code in an ExitCode cause (v4)', async () => {
    const c = await spdy(exec(['sh', '-c', 'exit 3'], { stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    await c.open({ streamtype: 'stdout' });
    await c.until(() => error.fin, 10_000, 'the error stream');
    const status = JSON.parse(c.text(error));
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    c.socket.destroy();
  });

  it('feeds stdin until the client half-closes it, and answers PING', async () => {
    const c = await spdy(exec(['cat'], { stdin: true, stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    const stdin = await c.open({ streamtype: 'stdin' });
    const stdout = await c.open({ streamtype: 'stdout' });
    c.ping(7);
    await c.until(() => c.pings.includes(7), 5000, 'the PING echo');
    const big = crypto.randomBytes(300_000).toString('hex');
    for (let at = 0; at < big.length; at += 30_000) c.send(stdin, big.slice(at, at + 30_000));
    c.send(stdin, '', true);
    await c.until(() => error.fin && stdout.fin, 20_000, 'cat to end');
    assert.equal(c.text(stdout), big);
    assert.equal(JSON.parse(c.text(error)).status, 'Success');
    c.socket.destroy();
  });

  it('passes resize messages of a TTY session to the backend', async () => {
    const before = backend.resizes.length;
    const c = await spdy(exec(['sh', '-c', 'sleep 0.5; echo done'], { tty: true, stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    const resize = await c.open({ streamtype: 'resize' });
    c.send(resize, '{"Width":120,"Height":40}\n{"Width":');
    c.send(resize, '80,"Height":25}\n');
    await c.until(() => error.fin && stdout.fin, 10_000, 'the TTY session');
    assert.deepEqual(backend.resizes.slice(before), [
      { width: 120, height: 40 },
      { width: 80, height: 25 },
    ]);
    assert.equal(c.text(stdout), 'done\n');
    c.socket.destroy();
  });

  it('attaches: stdin echoed back by the backend, Success when stdin ends', async () => {
    const c = await spdy(server.attachUrl({ containerId: 'c9', tty: false, stdin: true, stdout: true, stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    const stdin = await c.open({ streamtype: 'stdin' });
    const stdout = await c.open({ streamtype: 'stdout' });
    c.send(stdin, 'hello\n', true);
    await c.until(() => error.fin && stdout.fin, 10_000, 'the attach');
    assert.equal(c.text(stdout), 'attached to c9\nhello\n');
    assert.equal(JSON.parse(c.text(error)).status, 'Success');
    c.socket.destroy();
  });

  it('reports a backend failure as a Failure status with its message', async () => {
    const c = await spdy(server.attachUrl({ containerId: 'gone', tty: false, stdin: false, stdout: true, stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    await c.open({ streamtype: 'stdout' });
    await c.until(() => error.fin, 10_000, 'the error stream');
    const status = JSON.parse(c.text(error));
    assert.equal(status.status, 'Failure');
    assert.match(status.message, /container gone is not running/);
    c.socket.destroy();
  });

  it('speaks plain-text errors to v2 clients', async () => {
    const c = await spdy(exec(['sh', '-c', 'exit 2'], { stderr: false }), ['v2.channel.k8s.io']);
    const error = await c.open({ streamtype: 'error' });
    await c.open({ streamtype: 'stdout' });
    await c.until(() => error.fin, 10_000, 'the error stream');
    assert.equal(c.text(error), 'command terminated with non-zero exit code: exit status 2');
    c.socket.destroy();
  });

  it('forwards ports: an error and a data stream per request id, to a server on 127.0.0.1', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const port = (echo.address() as net.AddressInfo).port;
    try {
      const url = server.portForwardUrl({ podId: 'pod1' });
      const r = await upgrade(url, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' });
      assert.equal(r.status, 101);
      assert.match(r.head, /X-Stream-Protocol-Version: portforward.k8s.io/);
      const c = new SpdyClient(r.socket, r.rest);
      for (const id of ['0', '1']) {
        const error = await c.open({ streamtype: 'error', port: String(port), requestid: id });
        const data = await c.open({ streamtype: 'data', port: String(port), requestid: id });
        c.send(data, `ping ${id}`, true);
        await c.until(() => data.fin && error.fin, 10_000, 'the forwarded connection');
        assert.equal(c.text(data), `ping ${id}`);
        assert.equal(c.text(error), '');
      }
      // Nothing listens on port 1: the error stream says so.
      const error = await c.open({ streamtype: 'error', port: '1', requestid: '9' });
      await c.open({ streamtype: 'data', port: '1', requestid: '9' });
      await c.until(() => error.fin, 10_000, 'the error');
      assert.match(c.text(error), /error forwarding port 1 to pod pod1/);
      c.socket.destroy();
    } finally {
      echo.close();
    }
  });

  it('refuses a reused, unknown or wrong-kind token with 404, and a protocol it does not speak with 403', async () => {
    const url = exec(['true'], { stderr: false });
    const c = await spdy(url);
    c.socket.destroy();
    for (const bad of [url, url.replace('/exec/', '/attach/'), `${url.slice(0, -3)}AAA`]) {
      const r = await upgrade(bad, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
      assert.equal(r.status, 404, bad);
      r.socket.destroy();
    }
    const r = await upgrade(exec(['true']), { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v9.channel.k8s.io' });
    assert.equal(r.status, 403);
    assert.match(await readAll(r.socket, r.rest), /unable to negotiate/);
  });

  it('drops a connection that sends a frame past its bound', async () => {
    const c = await spdy(exec(['sleep', '5'], { stderr: false }));
    await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    c.sendHugeHeader(stdout, 0xffffff);
    await c.until(() => c.closed, 5000, 'the server to hang up');
    assert.ok(c.goAway, 'GOAWAY before hanging up');
  });

  it('holds a command back while its client does not read (no buffering of its output)', async () => {
    const total = 30_000_000;
    const c = await spdy(exec(['head', '-c', String(total), '/dev/zero'], { stderr: false }));
    const error = await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    await c.until(() => stdout.replied && error.replied, 5000, 'the replies');
    c.socket.pause();
    let last = -1;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      if (backend.stdoutBytes === last) break;
      last = backend.stdoutBytes;
    }
    // Socket buffers on both sides and the pipe, a few MiB at most: not the 30 MB the command has.
    assert.ok(last < 12_000_000, `the command wrote ${last} bytes to a client that reads nothing`);
    c.socket.resume();
    await c.until(() => error.fin && stdout.fin, 30_000, 'the rest');
    assert.equal(Buffer.concat(stdout.data).length, total);
    c.socket.destroy();
  });

  it('lives on when a client hangs up in the middle of a command writing to it', async () => {
    const c = await spdy(exec(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done'], { stderr: false }));
    await c.open({ streamtype: 'error' });
    const stdout = await c.open({ streamtype: 'stdout' });
    await c.until(() => stdout.data.length > 0, 10_000, 'some output');
    c.socket.destroy();
    const w = await ws(exec(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done']));
    await w.until(() => w.messages.length > 0, 10_000, 'some output');
    w.socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const again = await spdy(exec(['echo', 'still here'], { stderr: false }));
    const error = await again.open({ streamtype: 'error' });
    const out = await again.open({ streamtype: 'stdout' });
    await again.until(() => error.fin && out.fin, 10_000, 'the next session');
    assert.equal(again.text(out), 'still here\n');
    again.socket.destroy();
  });

  it('serves at most maxSessions at once, answering 429 beyond', async () => {
    const open: SpdyClient[] = [];
    for (let i = 0; i < 4; i++) open.push(await spdy(exec(['sleep', '5'], { stderr: false })));
    const r = await upgrade(exec(['true']), { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
    assert.equal(r.status, 429);
    r.socket.destroy();
    for (const c of open) c.socket.destroy();
  });
});

describe('CRI streaming server over WebSocket', () => {
  it('runs a command with channel bytes: 1 stdout, 2 stderr, 3 the status', async () => {
    const c = await ws(exec(['sh', '-c', 'echo out; echo err >&2; exit 4']));
    await c.until(() => c.closeCode !== undefined, 10_000, 'the close frame');
    assert.equal(c.closeCode, 1000);
    assert.equal(c.channel(1), 'out\n');
    assert.equal(c.channel(2), 'err\n');
    const status = JSON.parse(c.channel(3));
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '4' }]);
    c.socket.destroy();
  });

  it('takes stdin on channel 0, resize on 4, and v5 close of stdin on 255', async () => {
    const before = backend.resizes.length;
    const c = await ws(exec(['cat'], { stdin: true, tty: true, stderr: false }), 'v5.channel.k8s.io');
    c.send(2, Buffer.concat([Buffer.of(4), Buffer.from('{"Width":100,"Height":30}')]));
    c.send(2, Buffer.concat([Buffer.of(0), Buffer.from('typed\n')]));
    c.send(2, Buffer.of(255, 0));
    await c.until(() => c.closeCode !== undefined, 10_000, 'the close frame');
    assert.equal(c.channel(1), 'typed\n');
    assert.equal(JSON.parse(c.channel(3)).status, 'Success');
    assert.deepEqual(backend.resizes.slice(before), [{ width: 100, height: 30 }]);
    c.socket.destroy();
  });

  it('speaks base64.channel.k8s.io as text frames', async () => {
    const c = await ws(exec(['echo', 'b64']), 'base64.channel.k8s.io');
    await c.until(() => c.closeCode !== undefined, 10_000, 'the close frame');
    const out = c.messages.filter((m) => m[0] === 0x31).map((m) => Buffer.from(m.subarray(1).toString(), 'base64').toString());
    assert.deepEqual(out, ['b64\n']);
    c.socket.destroy();
  });

  it('closes with 1002 on an unmasked frame', async () => {
    const c = await ws(exec(['sleep', '5']));
    c.socket.write(Buffer.from([0x82, 0x01, 0x00]));
    await c.until(() => c.closeCode !== undefined, 5000, 'the close frame');
    assert.equal(c.closeCode, 1002);
    c.socket.destroy();
  });
});
