import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeWhenIdle } from '../../src/daemon/grpc/limits.js';
import { readBoundedRegularFile, readBoundedRegularFileSync } from '../../src/sys/bounded-read.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounds-unit-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

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
});
