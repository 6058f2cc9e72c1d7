import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { encodeMessage } from '../../src/api/codec.js';
import { frameMessage } from '../../src/api/grpc-framing.js';
import { grpcPath } from '../../src/api/rpc.js';
import { closeWhenIdle, GRPC_LIMITS } from '../../src/daemon/grpc/limits.js';
import { startServer, stopServer, type GrpcServer } from '../../src/daemon/server.js';
import type { HandlerTable, StreamCall } from '../../src/services/handlers.js';
import type { Logger } from '../../src/sys/log.js';
import { readBoundedRegularFile, readBoundedRegularFileSync } from '../../src/sys/bounded-read.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounds-unit-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
// A real GC without --expose-gc on the test runner's command line.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Fails instead of hanging when a read blocks (on a FIFO). */
const within = <T>(ms: number, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still reading after ${ms} ms`)), ms).unref())]);

describe('readBoundedRegularFile', () => {
  const fifo = path.join(dir, 'fifo');
  const file = path.join(dir, 'file');
  before(() => {
    execFileSync('mkfifo', [fifo]);
    fs.writeFileSync(file, 'x'.repeat(100));
  });

  it('reads a regular file up to and at its limit', async () => {
    assert.equal((await readBoundedRegularFile(file, 1000)).toString(), 'x'.repeat(100));
    assert.equal((await readBoundedRegularFile(file, 100)).length, 100);
    assert.equal(readBoundedRegularFileSync(file, 100).length, 100);
  });

  it('refuses a file one byte over its limit', async () => {
    await assert.rejects(readBoundedRegularFile(file, 99), { message: 'larger than the limit of 99 bytes' });
    assert.throws(() => readBoundedRegularFileSync(file, 99), { message: 'larger than the limit of 99 bytes' });
    const big = path.join(dir, 'big');
    fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
    await assert.rejects(readBoundedRegularFile(big, 1024 * 1024), { message: 'larger than the limit of 1 MiB' });
  });

  it('stops a file whose size says 0 (procfs) at its limit too', async () => {
    assert.match((await readBoundedRegularFile('/proc/self/status', 1024 * 1024)).toString(), /^Name:/);
    await assert.rejects(readBoundedRegularFile('/proc/self/status', 10), { message: 'larger than the limit of 10 bytes' });
  });

  it('refuses a FIFO without blocking, and devices and directories without reading them', async () => {
    await assert.rejects(within(2000, readBoundedRegularFile(fifo, 1024)), { message: 'not a regular file' });
    assert.throws(() => readBoundedRegularFileSync(fifo, 1024), { message: 'not a regular file' });
    await assert.rejects(readBoundedRegularFile('/dev/zero', 1024), { message: 'not a regular file' });
    await assert.rejects(readBoundedRegularFile(dir, 1024), { message: 'is a directory' });
  });

  it('names a missing file', async () => {
    await assert.rejects(readBoundedRegularFile(path.join(dir, 'nope'), 1024), { message: 'no such file' });
    assert.throws(() => readBoundedRegularFileSync(path.join(dir, 'nope'), 1024), { message: 'no such file' });
  });
});

describe('idle HTTP/2 connections', () => {
  const sock = path.join(dir, 'h2.sock');
  let server: http2.Http2Server;
  before(async () => {
    server = http2.createServer();
    server.on('session', (s) => closeWhenIdle(s, 200));
    server.on('stream', (stream) => stream.on('error', () => undefined));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connect = (): http2.ClientHttp2Session => {
    const c = http2.connect('http://localhost', { path: sock } as http2.SecureClientSessionOptions);
    c.on('error', () => undefined);
    return c;
  };

  it('closes a connection with no call', async () => {
    const client = connect();
    await within(3000, new Promise((resolve) => client.on('close', resolve)));
  });

  it('keeps a connection whose call is open but quiet', async () => {
    const client = connect();
    const req = client.request({ ':method': 'POST', ':path': '/x' });
    req.on('error', () => undefined);
    let closed = false;
    client.on('close', () => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(closed, false);
    client.destroy();
  });

  // The soak's leak: Node's session.setTimeout kept every closed connection until it fired.
  it('lets a closed connection be garbage-collected before its idle time is up', async () => {
    const idle = http2.createServer();
    let collected = 0;
    const registry = new FinalizationRegistry(() => collected++);
    let closed = 0;
    idle.on('session', (s) => {
      closeWhenIdle(s, 60_000);
      registry.register(s, undefined);
      s.on('close', () => closed++);
    });
    idle.on('stream', (stream) => stream.respond({ ':status': 200 }, { endStream: true }));
    const idleSock = path.join(dir, 'h2-gc.sock');
    await new Promise<void>((resolve) => idle.listen(idleSock, resolve));
    try {
      for (let i = 0; i < 10; i++) {
        const c = http2.connect('http://localhost', { path: idleSock } as http2.SecureClientSessionOptions);
        const req = c.request({ ':path': '/x' });
        req.resume();
        await new Promise((resolve) => req.on('close', resolve));
        await new Promise<void>((resolve) => c.close(() => resolve()));
      }
      await within(
        3000,
        (async () => {
          while (closed < 10) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
      );
      // Finalizers run in a later turn than the GC that freed their objects.
      for (let i = 0; i < 5 && collected < 10; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(collected, 10, 'closed connections still in memory');
    } finally {
      await new Promise<void>((resolve) => idle.close(() => resolve()));
    }
  });
});

// startServer gives the socket to root.
describe('responses to a client that does not read', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  const sock = path.join(dir, 'grpc.sock');
  const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
  const chunk = Buffer.alloc(64 * 1024, 7);
  let ended = 0;
  // Logs writes blindly, as live output does; Events writes at the client's pace, as a replay does.
  const handlers = {
    'SystemService/Version': async () => ({ version: 'test' }),
    'ContainerService/Logs': (_req: unknown, call: StreamCall<'ContainerService/Logs'>) =>
      new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          for (let i = 0; i < 16; i++) call.write({ stream: 1, data: chunk });
        }, 5);
        call.onCancel(() => {
          clearInterval(timer);
          ended++;
          resolve();
        });
      }),
    'SystemService/Events': async (_req: unknown, call: StreamCall<'SystemService/Events'>) => {
      for (let i = 0; i < 320 && !call.cancelled; i++) {
        call.write({ time: '', timeNano: '0', type: 'container', action: 'x'.repeat(64 * 1024), id: String(i), attributes: {} });
        await call.drained();
      }
    },
  } as unknown as HandlerTable;
  let server: GrpcServer;
  before(async () => {
    server = await startServer([`unix://${sock}`], handlers, { gid: 0 }, quiet);
  });
  after(() => stopServer(server));

  /** Starts a call and reads nothing until `resume` is called; then reads to the end. */
  function call(method: 'ContainerService/Logs' | 'SystemService/Events') {
    const session = http2.connect('http://localhost', { path: sock } as http2.SecureClientSessionOptions);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': grpcPath(method), 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.pause();
    let status: string | undefined;
    let message = '';
    let bytes = 0;
    req.on('trailers', (t) => {
      status = String(t['grpc-status']);
      message = String(t['grpc-message'] ?? '');
    });
    const done = new Promise<{ status?: string; message: string; bytes: number }>((resolve) =>
      req.on('close', () => {
        session.close();
        resolve({ status, message: decodeURIComponent(message), bytes });
      }),
    );
    req.end(frameMessage(encodeMessage({})));
    return {
      resume: () => {
        req.on('data', (d: Buffer) => (bytes += d.length));
        req.resume();
        return done;
      },
    };
  }

  it('a call that lets more than 8 MiB pile up is ended with RESOURCE_EXHAUSTED, which the client reads when it resumes', async () => {
    const c = call('ContainerService/Logs');
    await within(
      10_000,
      (async () => {
        while (ended === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
    );
    const r = await within(10_000, c.resume());
    assert.equal(r.status, '8');
    assert.match(r.message, /the client is not reading its output: more than 8 MiB unsent; output dropped/);
  });

  it('a handler that waits for drained() sends 20 MiB to a slow client in full', async () => {
    const c = call('SystemService/Events');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const r = await within(20_000, c.resume());
    assert.equal(r.status, '0', r.message);
    assert.ok(r.bytes > 20 * 1024 * 1024, String(r.bytes));
  });
});

describe('unary requests', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  const sock = path.join(dir, 'unary.sock');
  const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
  const handlers = { 'SystemService/Version': async () => ({ version: 'test' }) } as unknown as HandlerTable;
  let server: GrpcServer;
  before(async () => {
    server = await startServer([`unix://${sock}`], handlers, { gid: 0 }, quiet);
  });
  after(() => stopServer(server));

  /** Sends `body` without ending the request; resolves with the status the server ends the call with. */
  function open(body: Buffer): Promise<{ status: string; message: string }> {
    const session = http2.connect('http://localhost', { path: sock } as http2.SecureClientSessionOptions);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': grpcPath('SystemService/Version'), 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.on('data', () => undefined);
    req.write(body);
    return new Promise((resolve) =>
      req.on('response', (h) => {
        session.destroy();
        resolve({ status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      }),
    );
  }

  it('a second message is refused as it comes, not kept until the end', async () => {
    const one = frameMessage(encodeMessage({}));
    const r = await within(2000, open(Buffer.concat([one, one])));
    assert.equal(r.status, '13');
    assert.match(r.message, /takes one request message, got 2/);
  });

  it('a request that does not arrive in full in time is ended', async () => {
    const saved = GRPC_LIMITS.requestTimeoutMs;
    GRPC_LIMITS.requestTimeoutMs = 300;
    try {
      const r = await within(3000, open(frameMessage(encodeMessage({})).subarray(0, 3)));
      assert.equal(r.status, '4');
      assert.match(r.message, /the request did not arrive in full within 0.3 s/);
    } finally {
      GRPC_LIMITS.requestTimeoutMs = saved;
    }
  });
});
