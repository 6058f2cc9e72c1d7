import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { CgroupDriver, ImageService, RuntimeService, VersionRequestSchema } from '../../src/api/cri/gen/api_pb.js';
import { criPath } from '../../src/api/cri/services.js';
import { frameMessage } from '../../src/api/grpc-framing.js';
import { criCall, criClient, criFailure, crictl, findCrictl } from '../helpers/cri.js';
import { TestEngine } from '../helpers/engine.js';

// CRI v1 on the engine's socket: the wire (protobuf, gRPC as grpc-go and grpc-js speak it)
// and the runtime methods built so far, against the real daemon.

const CRICTL = findCrictl();
if (!CRICTL) console.log('# crictl not found at ../shared/tools/crictl (or $CRICTL): the crictl tests are skipped');
const noCrictl = CRICTL ? false : 'crictl not found at ../shared/tools/crictl (set CRICTL to run these)';
const rt = RuntimeService.method;

interface RawReply {
  status?: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
}

function connect(sock: string): http2.ClientHttp2Session {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
  session.on('error', () => undefined);
  return session;
}

/** One call with node:http2, for what grpc-js never sends; without a body the request stays open. */
function raw(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    const reply: RawReply = { headers: {}, trailers: {} };
    req.on('response', (h) => {
      reply.headers = h;
      reply.status = h[':status'];
    });
    req.on('trailers', (t) => (reply.trailers = t));
    req.on('data', () => undefined);
    req.on('error', reject);
    // The answer is complete once its side of the stream ends, whether ours has or not.
    req.on('end', () => {
      resolve(reply);
      req.close();
    });
    if (body) req.end(body);
  });
}

const grpcStatus = (r: RawReply): string | undefined => (r.trailers['grpc-status'] ?? r.headers['grpc-status']) as string | undefined;

describe('CRI v1 on the engine socket', () => {
  let engine: TestEngine;
  let client: grpc.Client;
  before(async () => {
    engine = await TestEngine.start([], { 'enable-cri-v1': true, 'cri-runtimes': { lxc: 'lcr' } });
    client = criClient(engine.sock);
  });
  after(async () => {
    client?.close();
    await engine?.cleanup();
  });

  it('crictl version talks to the daemon through its socket path', { skip: noCrictl }, async () => {
    const r = await crictl(CRICTL!, engine.sock, ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /RuntimeName: +iSulad\n/);
    assert.match(r.stdout, /RuntimeApiVersion: +v1\n/);
  });

  it('crictl info shows the runtime ready and the network not, with why', { skip: noCrictl }, async () => {
    const r = await crictl(CRICTL!, engine.sock, ['info']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { status: { conditions: { type: string; status: boolean; reason: string; message: string }[] }; config: unknown };
    const byType = Object.fromEntries(info.status.conditions.map((c) => [c.type, c]));
    assert.equal(byType.RuntimeReady?.status, true);
    assert.equal(byType.NetworkReady?.status, false);
    assert.equal(byType.NetworkReady?.reason, 'NetworkPluginNotReady');
    assert.match(byType.NetworkReady?.message ?? '', /CNI/);
    assert.deepEqual((info.config as { criRuntimes: unknown }).criRuntimes, { lxc: 'lcr' });
  });

  it('crictl gets UNIMPLEMENTED, naming the method, for what is not built yet', { skip: noCrictl }, async () => {
    const r = await crictl(CRICTL!, engine.sock, ['checkpoint', '--export', '/tmp/none.tar', 'abc']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /code = Unimplemented desc = runtime\.v1\.RuntimeService\/CheckpointContainer is not implemented/);
  });

  it('answers Version, Status and RuntimeConfig to a grpc-js client', async () => {
    const version = await criCall(client, rt.version, { version: 'v1' });
    assert.equal(version.runtimeName, 'iSulad');
    assert.equal(version.runtimeApiVersion, 'v1');
    assert.match(version.runtimeVersion, /^\d+\.\d+\.\d+/);
    const status = await criCall(client, rt.status, {});
    assert.deepEqual(
      status.status?.conditions.map((c) => [c.type, c.status]),
      [
        ['RuntimeReady', true],
        ['NetworkReady', false],
      ],
    );
    assert.deepEqual(status.info, {}, 'info only when verbose');
    assert.deepEqual(
      status.runtimeHandlers.map((h) => h.name),
      ['', 'lxc'],
    );
    const config = await criCall(client, rt.runtimeConfig, {});
    assert.equal(config.linux?.cgroupDriver, CgroupDriver.CGROUPFS);
  });

  it('keeps the pod CIDR of UpdateRuntimeConfig, and refuses a bad one with INVALID_ARGUMENT', async () => {
    await criCall(client, rt.updateRuntimeConfig, { runtimeConfig: { networkConfig: { podCidr: '10.88.0.0/16' } } });
    const status = await criCall(client, rt.status, { verbose: true });
    assert.equal((JSON.parse(status.info.config ?? '{}') as { podCIDR: string }).podCIDR, '10.88.0.0/16');
    const bad = await criFailure(criCall(client, rt.updateRuntimeConfig, { runtimeConfig: { networkConfig: { podCidr: '10.88.0.0/40' } } }));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /invalid pod CIDR "10.88.0.0\/40"/);
  });

  it('answers every method not built yet with UNIMPLEMENTED naming it', async () => {
    const checkpoint = await criFailure(criCall(client, rt.checkpointContainer, { containerId: 'abc', location: '/tmp/none.tar' }));
    assert.equal(checkpoint.code, grpc.status.UNIMPLEMENTED);
    assert.equal(checkpoint.details, 'runtime.v1.RuntimeService/CheckpointContainer is not implemented by this engine yet');
    // The ImageService is built (test/integration/cri-images.test.ts): an empty store lists nothing.
    const images = await criCall(client, ImageService.method.listImages, {});
    assert.deepEqual(images.images, []);
  });

  it('takes metadata, text and binary, with a call', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'abc');
    metadata.set('trace-bin', Buffer.from([0, 1, 2, 255]));
    const version = await criCall(client, rt.version, {}, { metadata });
    assert.equal(version.runtimeName, 'iSulad');
  });

  it('refuses a request over 4 MiB with RESOURCE_EXHAUSTED and goes on serving', async () => {
    const big = await criFailure(criCall(client, rt.updateRuntimeConfig, { runtimeConfig: { networkConfig: { podCidr: 'x'.repeat(5 * 1024 * 1024) } } }));
    assert.equal(big.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(big.details, /larger than max/);
    assert.equal((await criCall(client, rt.version, {})).runtimeName, 'iSulad');
  });

  it('ends a call whose deadline passes with DEADLINE_EXCEEDED, on the server side too', async () => {
    const session = connect(engine.sock);
    try {
      // The request never completes: only the server's grpc-timeout timer can end the call.
      const started = Date.now();
      const r = await raw(session, criPath(rt.version), { 'grpc-timeout': '300m' });
      assert.equal(grpcStatus(r), String(grpc.status.DEADLINE_EXCEEDED));
      assert.ok(Date.now() - started < 5000);
    } finally {
      session.close();
    }
    const expired = await criFailure(criCall(client, rt.version, {}, { deadline: new Date(Date.now() - 1) }));
    assert.equal(expired.code, grpc.status.DEADLINE_EXCEEDED);
  });

  it('takes application/grpc and application/grpc+proto, refuses other encodings with 415', async () => {
    const session = connect(engine.sock);
    try {
      const body = frameMessage(toBinary(VersionRequestSchema, create(VersionRequestSchema, { version: 'v1' })));
      for (const type of ['application/grpc', 'application/grpc+proto']) {
        const r = await raw(session, criPath(rt.version), { 'content-type': type }, body);
        assert.equal(grpcStatus(r), '0', type);
        assert.equal(r.headers['content-type'], 'application/grpc');
      }
      const json = await raw(session, criPath(rt.version), { 'content-type': 'application/grpc+json' }, Buffer.from('{}'));
      assert.equal(json.status, 415);
    } finally {
      session.close();
    }
  });

  it('answers keepalive pings, even many, without GOAWAY, and the connection keeps serving', async () => {
    const session = connect(engine.sock);
    let goaway: number | undefined;
    session.on('goaway', (code) => (goaway = code));
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    try {
      for (let i = 0; i < 40; i++) {
        await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const body = frameMessage(toBinary(VersionRequestSchema, create(VersionRequestSchema, {})));
      assert.equal(grpcStatus(await raw(session, criPath(rt.version), {}, body)), '0');
      assert.equal(goaway, undefined);
    } finally {
      session.close();
    }
    // grpc-js's own keepalive, at a rate far above kubelet's.
    const pinging = criClient(engine.sock, { 'grpc.keepalive_time_ms': 200, 'grpc.keepalive_timeout_ms': 1000, 'grpc.keepalive_permit_without_calls': 1 });
    try {
      await criCall(pinging, rt.version, {});
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal((await criCall(pinging, rt.version, {})).runtimeName, 'iSulad');
    } finally {
      pinging.close();
    }
  });

  it('keeps serving the isula services beside CRI', async () => {
    const r = await engine.isula(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Server:/);
  });
});

describe('CRI v1 off (enable-cri-v1 false, the default)', () => {
  let engine: TestEngine;
  before(async () => {
    engine = await TestEngine.start([], { 'enable-cri-v1': false });
  });
  after(async () => {
    await engine?.cleanup();
  });

  it('answers the CRI services with UNIMPLEMENTED, as iSulad without CRI v1', async () => {
    const client = criClient(engine.sock);
    try {
      const e = await criFailure(criCall(client, rt.version, {}));
      assert.equal(e.code, grpc.status.UNIMPLEMENTED);
      assert.match(e.details, /runtime\.v1\.RuntimeService\/Version/);
    } finally {
      client.close();
    }
  });

  it('crictl says the runtime API is not implemented', { skip: noCrictl }, async () => {
    const r = await crictl(CRICTL!, engine.sock, ['version']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unimplemented/);
  });

  it('sends GOAWAY to its connections when it stops, and does not wait for a silent one', async () => {
    const session = connect(engine.sock);
    const goaway = new Promise<number>((resolve, reject) => {
      session.on('goaway', (code) => resolve(code));
      session.on('close', () => reject(new Error('the session closed without a GOAWAY')));
    });
    goaway.catch(() => undefined); // awaited below; rejected early only if the test fails before
    // A session or socket that fails before connecting rejects with why, not a test left pending.
    await new Promise<void>((resolve, reject) => {
      session.on('connect', () => resolve());
      session.on('error', reject);
      session.on('close', () => reject(new Error('the HTTP/2 session closed before it connected')));
    });
    const silent = net.connect(engine.sock);
    await new Promise<void>((resolve, reject) => {
      silent.on('connect', () => resolve());
      silent.on('error', reject);
    });
    silent.on('error', () => undefined);
    const started = Date.now();
    await engine.stop();
    assert.ok(Date.now() - started < 5000, `stopping took ${Date.now() - started} ms`);
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    session.destroy();
    silent.destroy();
  });
});
