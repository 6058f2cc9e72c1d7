import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SessionSocket } from '../../src/client/h2/session.js';
import { connectUnix, libuvBindings, UnixSocket, type Libuv } from '../../src/client/unix-socket.js';

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

function collect(socket: SessionSocket): Promise<{ data: Buffer; error?: NodeJS.ErrnoException }> {
  const parts: Buffer[] = [];
  let error: NodeJS.ErrnoException | undefined;
  return new Promise((resolve) => {
    socket.on('data', (d) => parts.push(d));
    socket.on('error', (e) => (error = e));
    socket.on('close', () => resolve({ data: Buffer.concat(parts), error }));
  });
}

const paths: { name: string; connect: (file: string) => SessionSocket }[] = [
  { name: "libuv's pipe handle (the default)", connect: (file) => connectUnix(file) },
  { name: 'node:net (the fallback)', connect: (file) => connectUnix(file, null) },
];

for (const { name, connect } of paths)
  describe(`connectUnix on ${name}`, () => {
    it('sends what is written before and after the connection is up, half-closes, and reads the reply to the end', async () => {
      const srv = await server((received) => Buffer.concat([Buffer.from('got:'), received]));
      const socket = connect(srv.file);
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
      const socket = connect(srv.file);
      const result = collect(socket);
      socket.end();
      assert.ok((await result).data.equals(big));
      srv.close();
    });

    it('fails with the errno name when nothing listens', async () => {
      const missing = await collect(connect(path.join(dir, 'missing.sock')));
      assert.equal(missing.error?.code, 'ENOENT');
      // A socket file left by a listener that died.
      const stale = path.join(dir, `stale${sockets++}.sock`);
      const child = spawnSync(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      assert.equal(child.signal, 'SIGKILL');
      const refused = await collect(connect(stale));
      assert.equal(refused.error?.code, 'ECONNREFUSED');
    });

    it('destroy closes at once and writes after it are dropped', async () => {
      const srv = await server((received) => received);
      const socket = connect(srv.file);
      const result = collect(socket);
      socket.destroy();
      socket.write(Buffer.from('late'));
      const { data, error } = await result;
      assert.equal(error, undefined);
      assert.equal(data.length, 0);
      srv.close();
    });
  });

describe('connectUnix chooses the pipe handle only where this Node has it', () => {
  const realBinding = (process as { binding?: unknown }).binding;

  it('takes the pipe handle by default, node:net when told the bindings are missing', () => {
    const file = path.join(dir, 'missing.sock');
    const fast = connectUnix(file);
    const slow = connectUnix(file, null);
    for (const s of [fast, slow]) s.on('error', () => undefined);
    assert.ok(fast instanceof UnixSocket);
    assert.ok(slow instanceof net.Socket);
    fast.destroy();
    slow.destroy();
  });

  it('finds the bindings missing when process.binding is gone, throws, or gives another shape', () => {
    assert.ok(libuvBindings(realBinding));
    assert.equal(libuvBindings(undefined), null);
    assert.equal(
      libuvBindings((name: string) => {
        throw new Error(`No such module: ${name}`);
      }),
      null,
    );
    assert.equal(
      libuvBindings(() => undefined),
      null,
    );
    assert.equal(
      libuvBindings(() => ({})),
      null,
    );
    // pipe_wrap without its constants, as a changed Node might have it.
    const real = realBinding as (name: string) => Record<string, unknown>;
    assert.equal(
      libuvBindings((name: string) => (name === 'pipe_wrap' ? { ...real(name), constants: undefined } : real(name))),
      null,
    );
  });

  it('falls back to node:net when the pipe handle throws', async () => {
    const real = libuvBindings(realBinding)!;
    const broken: Libuv = {
      ...real,
      pipes: {
        ...real.pipes,
        Pipe: class {
          constructor() {
            throw new TypeError('Illegal constructor');
          }
        } as unknown as Libuv['pipes']['Pipe'],
      },
    };
    const srv = await server((received) => Buffer.concat([Buffer.from('got:'), received]));
    const socket = connectUnix(srv.file, broken);
    assert.ok(socket instanceof net.Socket);
    const result = collect(socket);
    socket.write(Buffer.from('hello'));
    socket.end();
    assert.equal((await result).data.toString(), 'got:hello');
    srv.close();
  });

  it('loads node:net only on the fallback', () => {
    // A fresh Node process (this one has node:net already), connecting to nothing either way.
    const moduleUrl = new URL('../../src/client/unix-socket.js', import.meta.url).href;
    const loadsNet = (fallback: boolean): boolean => {
      const script = `
        const { connectUnix } = await import(${JSON.stringify(moduleUrl)});
        const socket = connectUnix(${JSON.stringify(path.join(dir, 'missing.sock'))}${fallback ? ', null' : ''});
        socket.on('error', () => undefined);
        socket.on('close', () => console.log(process.moduleLoadList.includes('NativeModule net')));`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as boolean;
    };
    assert.equal(loadsNet(false), false);
    assert.equal(loadsNet(true), true);
  });
});
