import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OutputChunk } from '../../src/api/containers.js';
import { EngineError, ExitCode, imageBusy, imageNotFound, nameConflict } from '../../src/api/errors.js';
import { ConnectError, DaemonError, Transport } from '../../src/client/transport.js';
import { startServer, stopServer } from '../../src/daemon/server.js';
import type { HandlerTable, StreamCall } from '../../src/services/handlers.js';
import type { Logger } from '../../src/sys/log.js';

// The client's gRPC transport against the daemon's real gRPC server, with handlers
// that exercise each way a call can end.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transport-test-'));
const socketPath = path.join(dir, 'isulad.sock');
const host = `unix://${socketPath}`;
const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
const big = new Uint8Array(1_000_000).map((_, i) => i % 253);
let cancelled = 0;

const handlers = {
  'SystemService/Version': async () => ({ version: 'test' }),
  // A failed unary call is answered trailers-only: no headers went out before the status.
  'ContainerService/Start': () => {
    throw nameConflict('name "x" is in use');
  },
  'ContainerService/Inspect': async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw imageNotFound('No such image: "x"');
  },
  'ContainerService/Logs': async (req: { tail: number }, call: StreamCall<'ContainerService/Logs'>) => {
    for (let i = 0; i < 5; i++) call.write({ stream: 1, data: big });
    // After data, the status comes in trailers.
    if (req.tail === 0) throw imageBusy('busy');
  },
  'SystemService/Events': (_req: unknown, call: StreamCall<'SystemService/Events'>) =>
    new Promise<void>((resolve) => {
      call.write({ time: '', timeNano: '0', type: 'container', action: 'start', id: 'a', attributes: {} });
      call.onCancel(() => {
        cancelled++;
        resolve();
      });
    }),
  // Echoes input until eof, then ends with an exit code, as exec does.
  'ContainerService/Exec': (_req: unknown, call: StreamCall<'ContainerService/Exec'>) =>
    new Promise<void>((resolve) => {
      call.onMessage((m) => {
        if (m.input) call.write({ stream: 1, data: m.input });
        if (m.eof) {
          call.write({ exitCode: 7 });
          resolve();
        }
      });
    }),
} as unknown as HandlerTable;

let server: Awaited<ReturnType<typeof startServer>> | undefined;
after(async () => {
  if (server) await stopServer(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof EngineError, `want an EngineError, got ${String(e)}`);
  return e;
}

// startServer gives the socket to root.
describe('Transport against the daemon gRPC server', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  before(async () => {
    server = await startServer([host], handlers, { gid: process.getgid?.() ?? 0 }, quiet);
  });

  it('makes unary calls on one connection', async () => {
    const t = new Transport(host, socketPath);
    assert.deepEqual(await t.unary('SystemService/Version', {}), { version: 'test' });
    assert.deepEqual(await t.unary('SystemService/Version', {}), { version: 'test' });
    t.close();
  });

  it('turns daemon errors into DaemonError with the exit-code trailer, trailers-only or not', async () => {
    const t = new Transport(host, socketPath);
    const start = await rejection(t.unary('ContainerService/Start', { id: 'x' }));
    assert.ok(start instanceof DaemonError);
    assert.deepEqual([start.exitCode, start.message, start.kind], [ExitCode.nameConflict, 'name "x" is in use', 'AlreadyExists']);
    const inspect = await rejection(t.unary('ContainerService/Inspect', { id: 'x' }));
    assert.ok(inspect instanceof DaemonError);
    assert.deepEqual([inspect.exitCode, inspect.message, inspect.kind], [ExitCode.imageNotFound, 'No such image: "x"', 'NotFound']);
    t.close();
  });

  it('streams replies larger than the windows', async () => {
    const t = new Transport(host, socketPath);
    const chunks: OutputChunk[] = [];
    const { done } = t.stream('ContainerService/Logs', { id: 'x', follow: false, tail: -1, timestamps: false }, (m) => chunks.push(m));
    await done;
    assert.equal(chunks.length, 5);
    for (const c of chunks) assert.deepEqual(c.data, big);
    const failed = t.stream('ContainerService/Logs', { id: 'x', follow: false, tail: 0, timestamps: false }, () => undefined);
    const e = await rejection(failed.done);
    assert.ok(e instanceof DaemonError);
    assert.deepEqual([e.exitCode, e.message, e.kind], [ExitCode.imageBusy, 'busy', 'FailedPrecondition']);
    t.close();
  });

  it('sends stdin on a bidirectional call and ends when the daemon does', async () => {
    const t = new Transport(host, socketPath);
    const out: OutputChunk[] = [];
    const req = { id: 'x', cmd: ['cat'], env: [], tty: false, stdin: true, detach: false };
    const { done, handle } = t.stream('ContainerService/Exec', req, (m) => out.push(m), true);
    const input = Buffer.from(big);
    for (let i = 0; i < input.length; i += 100_000) handle.send({ ...req, input: input.subarray(i, i + 100_000) });
    handle.send({ ...req, eof: true });
    await done;
    assert.equal(out.at(-1)!.exitCode, 7);
    assert.deepEqual(Buffer.concat(out.slice(0, -1).map((c) => c.data!)), input);
    t.close();
  });

  it('cancels a stream quietly, and the daemon sees the cancel', async () => {
    const t = new Transport(host, socketPath);
    let first!: () => void;
    const got = new Promise<void>((resolve) => (first = resolve));
    const { done, handle } = t.stream('SystemService/Events', {}, () => first());
    await got;
    handle.cancel();
    await done;
    t.close();
    for (let i = 0; i < 100 && cancelled === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(cancelled, 1);
  });

  it('reports a missing daemon as ConnectError', async () => {
    const missing = path.join(dir, 'missing.sock');
    const t = new Transport(`unix://${missing}`, missing);
    const e = await rejection(t.unary('SystemService/Version', {}));
    assert.ok(e instanceof ConnectError);
    assert.equal(e.message, `Cannot connect to the isulad daemon at unix://${missing} (ENOENT). Is the daemon running?`);
    t.close();
  });
});
