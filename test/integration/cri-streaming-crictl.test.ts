import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { notFound } from '../../src/api/errors.js';
import { RuntimeService } from '../../src/api/cri/gen/api_pb.js';
import { criRoutes } from '../../src/daemon/grpc/cri-routes.js';
import { type GrpcServer, startServer, stopServer } from '../../src/daemon/server.js';
import type { HandlerTable } from '../../src/services/handlers.js';
import type { CriHandler } from '../../src/services/cri/handlers.js';
import { criStreamingHandlers } from '../../src/services/cri/streaming.js';
import { StreamingServer } from '../../src/streaming/index.js';
import { silentLogger } from '../../src/sys/log.js';
import { criCall, criClient, criFailure, findCrictl } from '../helpers/cri.js';
import { run } from '../helpers/engine.js';
import { HostBackend } from '../helpers/host-backend.js';
import { onTerminal } from '../helpers/pty.js';

// crictl (client-go's SPDY executor and port-forwarder, a grpc-go program) against the
// streaming server, through the RuntimeService Exec/Attach/PortForward handlers on a gRPC
// server of their own: the daemon's wiring is the pods' part; here "containers" are host
// processes (test/helpers/host-backend.ts).

const crictlBinary = findCrictl();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isulad-cri-streaming-'));
const sock = path.join(dir, 'cri.sock');
const backend = new HostBackend();
const streaming = new StreamingServer({ host: '127.0.0.1', port: 0, log: silentLogger, backend });
const lookup = {
  container: async (id: string) => {
    if (id.startsWith('missing')) throw notFound(`No such container: ${id}`);
    return { id: `${id}-full`, running: !id.startsWith('stopped') };
  },
  pod: async (id: string) => {
    if (id.startsWith('missing')) throw notFound(`No such pod: ${id}`);
    return { id, ready: true };
  },
};
const handlers: CriHandler[] = [
  ...criStreamingHandlers(streaming, lookup),
  {
    method: RuntimeService.method.version,
    handler: async () => ({ version: '0.1.0', runtimeName: 'iSulad', runtimeVersion: 'test', runtimeApiVersion: 'v1' }),
  },
];
let grpcServer: GrpcServer | undefined;

before(async () => {
  await streaming.start();
  // The daemon's own gRPC server (it takes grpc-go's unix-socket :authority), with only these routes.
  grpcServer = await startServer([`unix://${sock}`], {} as HandlerTable, { gid: 0 }, silentLogger, criRoutes(handlers, [RuntimeService]));
});

after(async () => {
  if (grpcServer) await stopServer(grpcServer);
  await streaming.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const crictl = (args: string[], input?: string) =>
  run(crictlBinary as string, ['-r', `unix://${sock}`, '--timeout', '10s', ...args], input === undefined ? {} : { input });

describe('CRI streaming handlers', () => {
  it('answer NotFound for an unknown container or pod, InvalidArgument for bad stream choices, FailedPrecondition when not running', async () => {
    const client = criClient(sock);
    try {
      const m = RuntimeService.method;
      const code = async (p: Promise<unknown>) => (await criFailure(p)).code;
      assert.equal(await code(criCall(client, m.exec, { containerId: 'missing1', cmd: ['true'], stdout: true })), grpc.status.NOT_FOUND);
      assert.equal(await code(criCall(client, m.exec, { containerId: 'c', cmd: ['true'] })), grpc.status.INVALID_ARGUMENT);
      assert.equal(
        await code(criCall(client, m.exec, { containerId: 'c', cmd: ['true'], tty: true, stdout: true, stderr: true })),
        grpc.status.INVALID_ARGUMENT,
      );
      assert.equal(await code(criCall(client, m.exec, { containerId: 'c', cmd: [], stdout: true })), grpc.status.INVALID_ARGUMENT);
      assert.equal(await code(criCall(client, m.exec, { containerId: 'stopped1', cmd: ['true'], stdout: true })), grpc.status.FAILED_PRECONDITION);
      assert.equal(await code(criCall(client, m.attach, { containerId: 'missing2', stdout: true })), grpc.status.NOT_FOUND);
      assert.equal(await code(criCall(client, m.attach, { containerId: 'c', stdin: true })), grpc.status.INVALID_ARGUMENT);
      assert.equal(await code(criCall(client, m.portForward, { podSandboxId: 'missing3' })), grpc.status.NOT_FOUND);
      assert.equal(await code(criCall(client, m.portForward, { podSandboxId: 'p', port: [70000] })), grpc.status.INVALID_ARGUMENT);
      const { url } = await criCall(client, m.exec, { containerId: 'c', cmd: ['true'], stdout: true });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{43}$/);
    } finally {
      client.close();
    }
  });
});

describe('crictl through the streaming server', { skip: crictlBinary === undefined && 'crictl is absent (set CRICTL)' }, () => {
  it('crictl exec: stdout, stderr and the exit code', async () => {
    const ok = await crictl(['exec', 'ctr1', 'sh', '-c', 'echo hi; echo oops >&2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'hi\n');
    assert.match(ok.stderr, /oops/);
    assert.equal(backend.execs.at(-1)?.containerId, 'ctr1-full');
    const failed = await crictl(['exec', 'ctr1', 'sh', '-c', 'exit 7']);
    // client-go read the code from the v4 status; crictl 1.26 itself exits 1 with it in the message.
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /command terminated with exit code 7/);
  });

  it('crictl exec: output past any SPDY window (spdystream keeps none)', async () => {
    const r = await crictl(['exec', 'ctr1', 'head', '-c', '3000000', '/dev/zero']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, 3_000_000);
  });

  it('crictl exec -i: stdin to the command, ended when crictl reaches its end', async () => {
    const data = `${'x'.repeat(200_000)}\nend\n`;
    const r = await crictl(['exec', '-i', 'ctr1', 'cat'], data);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, data);
  });

  it('crictl exec -it: a TTY session, with the terminal size sent on the resize stream', async () => {
    const before = backend.resizes.length;
    const t = onTerminal(crictlBinary as string, ['-r', `unix://${sock}`, 'exec', '-it', 'ctr1', 'sh', '-c', 'read line; echo "got $line"'], {
      rows: 33,
      cols: 101,
    });
    t.write('typed\r');
    await t.waitFor(/got typed/);
    assert.equal(await t.exit(), 0, t.stderr);
    assert.deepEqual(backend.resizes.slice(before)[0], { width: 101, height: 33 });
    assert.equal(backend.execs.at(-1)?.tty, true);
  });

  it('crictl exec for an unknown container fails naming it', async () => {
    const r = await crictl(['exec', 'missing9', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such container: missing9/);
  });

  it('crictl attach -i: the container greets and echoes stdin', async () => {
    const r = await crictl(['attach', '-i', 'ctr2'], 'echoed\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'attached to ctr2-full\nechoed\n');
  });

  it('crictl port-forward: a local port reaches a server through the pod port', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const target = (echo.address() as net.AddressInfo).port;
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const local = (probe.address() as net.AddressInfo).port;
    probe.close();
    const { spawn } = await import('node:child_process');
    const pf = spawn(crictlBinary as string, ['-r', `unix://${sock}`, 'port-forward', 'pod1', `${local}:${target}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    pf.stdout.on('data', (c: Buffer) => {
      log += c.toString();
    });
    pf.stderr.on('data', (c: Buffer) => {
      log += c.toString();
    });
    try {
      const deadline = Date.now() + 10_000;
      while (!log.includes('Forwarding from')) {
        assert.ok(Date.now() < deadline, `crictl port-forward did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const word of ['first', 'second']) {
        const conn = net.connect(local, '127.0.0.1');
        await once(conn, 'connect');
        conn.end(word);
        const chunks: Buffer[] = [];
        conn.on('data', (c: Buffer) => chunks.push(c));
        await once(conn, 'close');
        assert.equal(Buffer.concat(chunks).toString(), word, log);
      }
    } finally {
      pf.kill();
      echo.close();
    }
  });
});
