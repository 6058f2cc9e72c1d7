import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, EXIT_CODE_TRAILER } from '../../src/api/codec.js';
import { ExitCode, imageBusy, imageNotFound, nameConflict, notFound } from '../../src/api/errors.js';
import { frameMessage, MessageReader } from '../../src/api/grpc-framing.js';
import { encodeGrpcMessage, type GrpcError, parseTimeout, Status } from '../../src/api/grpc-status.js';
import { startServer, stopServer, type GrpcServer } from '../../src/daemon/server.js';
import type { HandlerTable, StreamCall } from '../../src/services/handlers.js';
import type { Logger } from '../../src/sys/log.js';

// The daemon's gRPC server (node:http2) against @grpc/grpc-js as the reference client, and
// against raw node:http2 requests for what grpc-js never sends.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grpc-server-test-'));
const socketPath = path.join(dir, 'isulad.sock');
const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
const big = Buffer.from(new Uint8Array(1_000_000).map((_, i) => i % 251));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let cancelled = 0;

const handlers = {
  'SystemService/Version': async () => ({ version: 'test' }),
  // No result: the client still gets a message, `{}`.
  'ContainerService/Pause': async () => undefined,
  // Throws before any await.
  'ContainerService/Start': () => {
    throw nameConflict('name "x" is in use');
  },
  'ContainerService/Inspect': async () => {
    await sleep(5);
    throw imageNotFound('No such image: "ü"\nat 100%');
  },
  'ContainerService/Kill': async () => {
    throw notFound('No such container: x');
  },
  'ContainerService/Stop': async () => {
    throw new Error('something broke');
  },
  'ContainerService/Wait': async () => {
    await sleep(1000);
    return { exitCode: 0 };
  },
  'ContainerService/Logs': async (req: { tail: number }, call: StreamCall<'ContainerService/Logs'>) => {
    for (let i = 0; i < 5; i++) call.write({ stream: 1, data: big });
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
  // Work that follows the answer (RemoveContainer's cleanup) holds the event loop a while.
  'ContainerService/Unpause': async (_req: unknown, call: StreamCall<'ContainerService/Unpause'>) => {
    void call.answered().then(() => {
      const until = Date.now() + 400;
      while (Date.now() < until);
    });
  },
  // Listens only after a while, as attach does after starting its container; echoes input
  // until eof, then ends with an exit code, as exec does.
  'ContainerService/Exec': async (req: { cmd: string[] }, call: StreamCall<'ContainerService/Exec'>) => {
    await sleep(50);
    await new Promise<void>((resolve) => {
      call.write({ stream: 2, data: Buffer.from(req.cmd.join(' ')) });
      call.onMessage((m) => {
        if (m.input) call.write({ stream: 1, data: m.input });
        if (m.eof) {
          call.write({ exitCode: 7 });
          resolve();
        }
      });
    });
  },
} as unknown as HandlerTable;

const serialize = (v: unknown): Buffer => encodeMessage(v);
const deserialize = (b: Buffer): unknown => decodeMessage(b);

function unary(client: grpc.Client, method: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => client.makeUnaryRequest(method, serialize, deserialize, request, (err, res) => (err ? reject(err) : resolve(res))));
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  const e = await p.then(
    () => assert.fail('call succeeded'),
    (err: unknown) => err,
  );
  return e as grpc.ServiceError;
}

/** All replies of a server stream, and how it ended. */
function collect(call: grpc.ClientReadableStream<unknown>): Promise<{ messages: unknown[]; error?: grpc.ServiceError }> {
  const messages: unknown[] = [];
  return new Promise((resolve) => {
    call.on('data', (m: unknown) => messages.push(m));
    call.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve({ messages });
    });
  });
}

interface RawReply {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with node:http2, for headers and bodies grpc-js does not send. */
function raw(target: string, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<RawReply> {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': target, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const reply: RawReply = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    req.on('response', (h) => (reply.headers = h));
    req.on('trailers', (t) => (reply.trailers = t));
    req.on('data', (chunk: Buffer) => (reply.body = Buffer.concat([reply.body, chunk])));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve(reply);
    });
    req.end(body);
  });
}

describe('gRPC framing', () => {
  it('cuts messages that share a chunk or span several', () => {
    const reader = new MessageReader(1 << 20, 'identity');
    const a = frameMessage(Buffer.from('first'));
    const b = frameMessage(Buffer.from('second message'));
    assert.deepEqual(reader.push(Buffer.concat([a, b])).map(String), ['first', 'second message']);
    const joined = Buffer.concat([a, b, a]);
    const out: string[] = [];
    // One byte at a time: the prefix and the payload split everywhere.
    for (let i = 0; i < joined.length; i++) out.push(...reader.push(joined.subarray(i, i + 1)).map(String));
    assert.deepEqual(out, ['first', 'second message', 'first']);
    assert.deepEqual(reader.push(frameMessage(Buffer.alloc(0))), [Buffer.alloc(0)]);
  });

  it('refuses compressed and oversized messages as soon as their prefix is in', () => {
    const compressed = Buffer.from([1, 0, 0, 0, 9]);
    assert.throws(
      () => new MessageReader(100, 'gzip').push(compressed),
      (e: GrpcError) => e.code === Status.UNIMPLEMENTED && /gzip/.test(e.message),
    );
    const huge = Buffer.from([0, 0, 0, 1, 0]);
    assert.throws(
      () => new MessageReader(100, 'identity').push(huge),
      (e: GrpcError) => e.code === Status.RESOURCE_EXHAUSTED,
    );
  });

  it('percent-encodes grpc-message and reads grpc-timeout', () => {
    assert.equal(encodeGrpcMessage('No such image: "ü"\n100%'), 'No such image: "%C3%BC"%0A100%25');
    assert.equal(decodeURIComponent(encodeGrpcMessage('ü\t%')), 'ü\t%');
    assert.equal(parseTimeout('250m'), 250);
    assert.equal(parseTimeout('2S'), 2000);
    assert.equal(parseTimeout('1H'), 3_600_000);
    assert.equal(parseTimeout('123456789S'), undefined);
    assert.equal(parseTimeout(undefined), undefined);
  });
});

// startServer gives the socket to root.
describe('gRPC server on node:http2', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, () => {
  let server: GrpcServer | undefined;
  let client: grpc.Client;
  before(async () => {
    server = await startServer([`unix://${socketPath}`], handlers, { gid: 0 }, quiet);
    client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    if (server) await stopServer(server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a socket of mode 0660, and names a socket it cannot use', async () => {
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o660);
    await assert.rejects(
      startServer(['tcp://127.0.0.1:99999'], handlers, { gid: 0 }, quiet),
      /invalid host tcp:\/\/127\.0\.0\.1:99999: the port must be 1-65535/,
    );
    await assert.rejects(startServer(['http://127.0.0.1:2375'], handlers, { gid: 0 }, quiet), /invalid host http:\/\/127\.0\.0\.1:2375: want unix/);
    const long = `unix://${dir}/${'a'.repeat(120)}.sock`;
    await assert.rejects(startServer([long], handlers, { gid: 0 }, quiet), { message: `invalid host ${long}: the socket path is longer than 107 bytes` });
  });

  it('answers unary calls, with {} for a handler that returns nothing', async () => {
    assert.deepEqual(await unary(client, '/isulad.SystemService/Version', {}), { version: 'test' });
    assert.deepEqual(await unary(client, '/isulad.ContainerService/Pause', { id: 'x' }), {});
  });

  it('answers a failed unary call with the message and the exit-code trailer', async () => {
    const start = await failure(unary(client, '/isulad.ContainerService/Start', { id: 'x' }));
    assert.equal(start.code, grpc.status.ALREADY_EXISTS);
    assert.equal(start.details, 'name "x" is in use');
    assert.deepEqual(start.metadata.get(EXIT_CODE_TRAILER), [String(ExitCode.nameConflict)]);
    const inspect = await failure(unary(client, '/isulad.ContainerService/Inspect', { id: 'x' }));
    assert.equal(inspect.details, 'No such image: "ü"\nat 100%');
    assert.deepEqual(inspect.metadata.get(EXIT_CODE_TRAILER), [String(ExitCode.imageNotFound)]);
  });

  it("answers with the gRPC status of the error's kind", async () => {
    const kill = await failure(unary(client, '/isulad.ContainerService/Kill', { id: 'x' }));
    assert.equal(kill.code, grpc.status.NOT_FOUND);
    assert.equal(kill.code, 5);
    assert.equal(kill.details, 'No such container: x');
    assert.deepEqual(kill.metadata.get(EXIT_CODE_TRAILER), [String(ExitCode.general)]);
    const inspect = await failure(unary(client, '/isulad.ContainerService/Inspect', { id: 'x' }));
    assert.equal(inspect.code, grpc.status.NOT_FOUND);
    // Anything thrown that is not an EngineError is the engine's own fault.
    const stop = await failure(unary(client, '/isulad.ContainerService/Stop', { id: 'x' }));
    assert.equal(stop.code, grpc.status.INTERNAL);
    assert.deepEqual(stop.metadata.get(EXIT_CODE_TRAILER), [String(ExitCode.serverError)]);
    const failed = await collect(client.makeServerStreamRequest('/isulad.ContainerService/Logs', serialize, deserialize, { tail: 0 }));
    assert.equal(failed.error?.code, grpc.status.FAILED_PRECONDITION);
  });

  it('streams replies larger than the flow-control windows, then the status', async () => {
    const ok = await collect(client.makeServerStreamRequest('/isulad.ContainerService/Logs', serialize, deserialize, { tail: -1 }));
    assert.equal(ok.error, undefined);
    assert.equal(ok.messages.length, 5);
    for (const m of ok.messages) assert.deepEqual(Buffer.from((m as { data: Uint8Array }).data), big);
    const failed = await collect(client.makeServerStreamRequest('/isulad.ContainerService/Logs', serialize, deserialize, { tail: 0 }));
    assert.equal(failed.messages.length, 5);
    assert.equal(failed.error?.details, 'busy');
    assert.deepEqual(failed.error?.metadata.get(EXIT_CODE_TRAILER), [String(ExitCode.imageBusy)]);
  });

  it('queues bidirectional requests until the handler listens', async () => {
    const call = client.makeBidiStreamRequest('/isulad.ContainerService/Exec', serialize, deserialize);
    const out: { stream?: number; data?: Uint8Array; exitCode?: number }[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (m: (typeof out)[number]) => out.push(m));
      call.on('error', reject);
      call.on('status', () => resolve());
    });
    call.write({ cmd: ['cat', '-'] });
    for (let i = 0; i < big.length; i += 100_000) call.write({ input: big.subarray(i, i + 100_000) });
    call.write({ eof: true });
    await ended;
    call.end();
    assert.deepEqual(Buffer.from(out[0]!.data!).toString(), 'cat -');
    assert.deepEqual(Buffer.concat(out.slice(1, -1).map((m) => m.data!)), big);
    assert.equal(out.at(-1)!.exitCode, 7);
  });

  it('tells the handler when the client cancels', async () => {
    const call = client.makeServerStreamRequest('/isulad.SystemService/Events', serialize, deserialize, {});
    call.on('error', () => undefined);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    for (let i = 0; i < 100 && cancelled === 0; i++) await sleep(10);
    assert.equal(cancelled, 1);
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    const e = await failure(unary(client, '/isulad.SystemService/Nothing', {}));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
  });

  it('refuses compressed requests and non-gRPC requests, and keeps deadlines', async () => {
    const compressed = await raw('/isulad.SystemService/Version', { 'grpc-encoding': 'gzip' }, Buffer.from([1, 0, 0, 0, 0]));
    assert.equal(compressed.headers['grpc-status'], String(Status.UNIMPLEMENTED));
    assert.equal(compressed.headers['grpc-accept-encoding'], 'identity');
    const json = await raw('/isulad.SystemService/Version', { 'content-type': 'application/json' }, Buffer.from('{}'));
    assert.equal(json.headers[':status'], 415);
    const started = Date.now();
    const late = await raw('/isulad.ContainerService/Wait', { 'grpc-timeout': '100m' }, frameMessage(encodeMessage({ id: 'x' })));
    assert.equal(late.headers['grpc-status'], String(Status.DEADLINE_EXCEEDED));
    assert.ok(Date.now() - started < 900);
    // Two messages on a unary call.
    const two = await raw('/isulad.SystemService/Version', {}, Buffer.concat([frameMessage(encodeMessage({})), frameMessage(encodeMessage({}))]));
    assert.equal(two.headers['grpc-status'], String(Status.INTERNAL));
  });

  it('answers in headers, a message and trailers', async () => {
    const ok = await raw('/isulad.SystemService/Version', {}, frameMessage(encodeMessage({})));
    assert.equal(ok.headers['content-type'], 'application/grpc');
    assert.equal(ok.trailers['grpc-status'], '0');
    assert.deepEqual(
      new MessageReader(1 << 20, 'identity').push(ok.body).map((m) => decodeMessage(m)),
      [{ version: 'test' }],
    );
  });

  it('has the status out before the work that waits for the answer runs', async () => {
    // Another process times the reply: this one's event loop is what the work holds. With
    // that work begun on the next turn instead, the trailers would come 400 ms after the message.
    const script = `
      const http2 = require('node:http2'), net = require('node:net');
      const s = http2.connect('http://localhost', { createConnection: () => net.connect(process.argv[1]) });
      const req = s.request({ ':method': 'POST', ':path': '/isulad.ContainerService/Unpause', 'content-type': 'application/grpc', te: 'trailers' });
      let first;
      req.on('data', () => (first ??= Date.now()));
      req.on('trailers', (t) => { console.log(JSON.stringify({ status: t['grpc-status'], ms: Date.now() - first })); s.close(); });
      req.end(Buffer.from(process.argv[2], 'hex'));`;
    const body = frameMessage(encodeMessage({ id: 'x' })).toString('hex');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script, socketPath, body], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const { status, ms } = JSON.parse(out) as { status: string; ms: number };
    assert.equal(status, '0');
    assert.ok(ms < 200, `trailers ${ms} ms after the message`);
  });

  it('stops promptly, cutting streams that never end', async () => {
    const second = path.join(dir, 'second.sock');
    const other = await startServer([`unix://${second}`], handlers, { gid: 0 }, quiet);
    const c = new grpc.Client(`unix://${second}`, grpc.credentials.createInsecure());
    const call = c.makeServerStreamRequest('/isulad.SystemService/Events', serialize, deserialize, {});
    const ended = collect(call);
    await new Promise((resolve) => call.once('data', resolve));
    const started = Date.now();
    await stopServer(other);
    assert.ok(Date.now() - started < 3000);
    assert.equal((await ended).error?.code, grpc.status.UNAVAILABLE);
    c.close();
  });
});
