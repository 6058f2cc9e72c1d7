import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { UnixSocket } from '../../src/client/unix-socket.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-unix-socket-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

/** A server that answers each connection with `reply(everything received)` once the client half-closes. */
async function server(reply: (received: Buffer) => Buffer): Promise<{ file: string; close: () => void }> {
  const file = path.join(dir, `s${sockets++}.sock`);
  const srv = net.createServer((c) => {
    const parts: Buffer[] = [];
    c.on('error', () => undefined); // the client may be gone first
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => c.end(reply(Buffer.concat(parts))));
  });
  await new Promise<void>((resolve) => srv.listen(file, resolve));
  return { file, close: () => srv.close() };
}

function collect(socket: UnixSocket): Promise<{ data: Buffer; error?: NodeJS.ErrnoException }> {
  const parts: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  return new Promise((resolve) => {
    socket.on('data', (d) => parts.push(d));
    socket.on('error', (e) => (error = e));
    socket.on('close', () => resolve({ data: Buffer.concat(parts), error }));
  });
}

describe('UnixSocket (the client connection on libuv pipe handles)', () => {
  it('sends what is written before and after the connection is up, half-closes, and reads the reply to the end', async () => {
    const srv = await server((received) => Buffer.concat([Buffer.from('got:'), received]));
    const socket = new UnixSocket(srv.file);
    const result = collect(socket);
    socket.write(Buffer.from('one,'));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(Buffer.from('two'));
    let ended = false;
    socket.end(() => (ended = true));
    assert.equal(socket.writable, false);
    const { data, error } = await result;
    assert.equal(error, undefined);
    assert.equal(data.toString(), 'got:one,two');
    assert.equal(ended, true);
    srv.close();
  });

  it('carries a large reply whole', async () => {
    const big = Buffer.alloc(1_000_000, 7);
    const srv = await server(() => big);
    const socket = new UnixSocket(srv.file);
    const result = collect(socket);
    socket.end();
    assert.ok((await result).data.equals(big));
    srv.close();
  });

  it('fails with the errno name when nothing listens', async () => {
    const missing = await collect(new UnixSocket(path.join(dir, 'missing.sock')));
    assert.equal(missing.error?.code, 'ENOENT');
    // A socket file left by a listener that died.
    const stale = path.join(dir, 'stale.sock');
    const child = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.equal(child.signal, 'SIGKILL');
    const refused = await collect(new UnixSocket(stale));
    assert.equal(refused.error?.code, 'ECONNREFUSED');
  });

  it('destroy closes at once and writes after it are dropped', async () => {
    const srv = await server((received) => received);
    const socket = new UnixSocket(srv.file);
    const result = collect(socket);
    socket.destroy();
    socket.write(Buffer.from('late'));
    const { data, error } = await result;
    assert.equal(error, undefined);
    assert.equal(data.length, 0);
    srv.close();
  });
});
