import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { encodeFrame, Flag, FrameParser, FrameType, PREFACE } from '../../src/common/h2/frames.js';
import { encodeHeaders, HpackDecoder } from '../../src/common/h2/hpack.js';
import { acceptUnixConnection, AuthorityFixingSocket, HeaderRewriter, openingVerdict } from '../../src/daemon/grpc/authority.js';

// The rewriting of :authority that lets grpc-go clients dialled with a socket path through
// nghttp2 (src/daemon/grpc/authority.ts).

const request = (authority: string) =>
  [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/runtime.v1.RuntimeService/Version'],
    [':authority', authority],
    ['content-type', 'application/grpc'],
  ] as [string, string][];

/** Incremental indexing of every field (6.2.1, new name), as grpc-go's encoder does. */
function indexed(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const literal = encodeHeaders([[name, value]]);
    literal[0] = 0x40;
    parts.push(literal);
  }
  return Buffer.concat(parts);
}

function run(input: Buffer, chunk = input.length): { frames: ReturnType<FrameParser['push']>; headers: [string, string][][] } {
  const rewriter = new HeaderRewriter();
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) out.push(...rewriter.push(input.subarray(i, i + chunk)));
  const all = Buffer.concat(out);
  assert.deepEqual(all.subarray(0, PREFACE.length), PREFACE);
  const frames = new FrameParser().push(all.subarray(PREFACE.length));
  const decoder = new HpackDecoder();
  const headers = frames.filter((f) => f.type === FrameType.HEADERS).map((f) => decoder.decode(f.payload));
  return { frames, headers };
}

describe('HeaderRewriter', () => {
  const data = encodeFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 2, 10, 0]));
  const input = Buffer.concat([
    PREFACE,
    encodeFrame(FrameType.SETTINGS, 0, 0),
    encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, indexed(request('/run/isulad.sock'))),
    data,
    // The second call refers to the first one's table entries only: 0xbe is the newest entry.
    encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 3, Buffer.from([0xc2, 0xc1, 0xc0, 0xbf, 0xbe])),
  ]);

  for (const chunk of [input.length, 1, 7]) {
    it(`turns a socket path into localhost and follows the client's table (chunks of ${chunk})`, () => {
      const { frames, headers } = run(input, chunk);
      assert.equal(headers.length, 2);
      for (const h of headers) assert.deepEqual(h, request('localhost'));
      assert.deepEqual(
        frames.map((f) => [f.type, f.streamId]),
        [
          [FrameType.SETTINGS, 0],
          [FrameType.HEADERS, 1],
          [FrameType.DATA, 1],
          [FrameType.HEADERS, 3],
        ],
      );
      assert.deepEqual(frames[2]!.payload, data.subarray(9));
    });
  }

  it('keeps a valid authority, END_STREAM, and joins CONTINUATION frames', () => {
    const block = indexed(request('127.0.0.1:2375'));
    const { frames, headers } = run(
      Buffer.concat([
        PREFACE,
        encodeFrame(FrameType.HEADERS, Flag.END_STREAM | Flag.PADDED, 5, Buffer.concat([Buffer.from([2]), block.subarray(0, 10), Buffer.alloc(2)])),
        encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 5, block.subarray(10)),
      ]),
    );
    assert.deepEqual(headers, [request('127.0.0.1:2375')]);
    assert.equal(frames[0]!.flags, Flag.END_STREAM | Flag.END_HEADERS);
  });

  it('refuses a header block interrupted by another frame, and one past 64 KiB', () => {
    const rewriter = new HeaderRewriter();
    rewriter.push(Buffer.concat([PREFACE, encodeFrame(FrameType.HEADERS, 0, 1, indexed(request('x')))]));
    assert.throws(() => rewriter.push(encodeFrame(FrameType.DATA, 0, 1)), /interrupted/);
    const big = new HeaderRewriter();
    big.push(Buffer.concat([PREFACE, encodeFrame(FrameType.HEADERS, 0, 1, Buffer.alloc(16_000))]));
    assert.throws(() => {
      for (let i = 0; i < 5; i++) big.push(encodeFrame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_000)));
    }, /larger than/);
  });

  it('refuses a small block that decodes to a huge list (one table entry indexed over and over)', () => {
    const rewriter = new HeaderRewriter();
    const entry = indexed([['x-big', 'v'.repeat(3000)]]);
    const block = Buffer.concat([entry, Buffer.alloc(200, 0xbe)]);
    assert.throws(() => rewriter.push(Buffer.concat([PREFACE, encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, block)])), /header list larger than/);
  });

  it('passes a connection that is not HTTP/2 through untouched', () => {
    const rewriter = new HeaderRewriter();
    const http1 = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\nmore bytes after it');
    assert.deepEqual(Buffer.concat(rewriter.push(http1)), http1);
  });
});

describe('openingVerdict', () => {
  const start = Buffer.concat([PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(6))]);
  const ack = encodeFrame(FrameType.SETTINGS, Flag.ACK, 0);
  const headers = (authority: string, flags: number = Flag.END_HEADERS) => encodeFrame(FrameType.HEADERS, flags, 1, indexed(request(authority)));

  it('lets a first read with a whole header block and a good authority go straight to nghttp2', () => {
    const first = Buffer.concat([start, headers('localhost')]);
    assert.deepEqual(openingVerdict(first, false), first);
    const withData = Buffer.concat([start, headers('127.0.0.1:2375'), encodeFrame(FrameType.DATA, 1, 1)]);
    assert.deepEqual(openingVerdict(withData, false), withData);
  });

  it('waits for the first header block of a client that waits for our SETTINGS, and leaves out its ACK of them', () => {
    assert.equal(openingVerdict(PREFACE.subarray(0, 10), false), 'more', 'a preface cut short');
    assert.equal(openingVerdict(start, false), 'more', 'no header block yet');
    assert.equal(openingVerdict(Buffer.concat([start, ack]), true), 'more');
    const update = encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1, 0]));
    const opening = Buffer.concat([start, update, ack, headers('localhost')]);
    assert.deepEqual(openingVerdict(opening, true), Buffer.concat([start, update, headers('localhost')]));
  });

  it('sends everything else through the rewriting', () => {
    assert.equal(openingVerdict(Buffer.concat([start, headers('/run/isulad.sock')]), false), 'rewrite', 'a socket path');
    assert.equal(openingVerdict(Buffer.concat([start, ack, headers('/run/isulad.sock')]), true), 'rewrite', 'a socket path after the ACK');
    assert.equal(openingVerdict(Buffer.concat([start, headers('localhost')]), true), 'rewrite', 'a header block before the ACK');
    const whole = Buffer.concat([start, headers('localhost')]);
    assert.equal(openingVerdict(whole.subarray(0, whole.length - 1), false), 'more', 'a block cut short');
    assert.equal(openingVerdict(Buffer.concat([start, headers('localhost', 0)]), false), 'rewrite', 'CONTINUATION to come');
    assert.equal(openingVerdict(Buffer.from('GET / HTTP/1.1\r\n\r\n'), false), 'rewrite', 'not HTTP/2');
    const ping = encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8));
    assert.equal(openingVerdict(Buffer.concat([start, ack, ping]), true), 'rewrite', 'a keepalive PING before any call: nghttp2 answers it');
    const update = encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1, 0]));
    assert.equal(openingVerdict(Buffer.concat([start, ...Array.from({ length: 12000 }, () => update)]), false), 'rewrite', 'no header block in 156 KB');
  });

  it('has the rewriting drop the ACK of the SETTINGS the daemon sent, and only that one', () => {
    const rewriter = new HeaderRewriter(true);
    const out = Buffer.concat(rewriter.push(Buffer.concat([start, headers('/run/isulad.sock'), ack, ack])));
    const frames = new FrameParser().push(out.subarray(PREFACE.length));
    assert.deepEqual(
      frames.map((f) => [f.type, f.flags]),
      [
        [FrameType.SETTINGS, 0],
        [FrameType.HEADERS, Flag.END_HEADERS],
        [FrameType.SETTINGS, Flag.ACK],
      ],
    );
    assert.deepEqual(
      new HpackDecoder().decode(frames[1]!.payload).find(([n]) => n === ':authority'),
      [':authority', 'localhost'],
    );
  });
});

describe('acceptUnixConnection', () => {
  /** An h2c server behind acceptUnixConnection on a unix socket; `served` records how each connection reached it. */
  async function server(t: { after: (f: () => void) => void }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authority-'));
    const sock = path.join(dir, 's.sock');
    const h2 = http2.createServer();
    const served: string[] = [];
    h2.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(String(headers[':authority']));
    });
    const listener = net.createServer((c) =>
      acceptUnixConnection(c, (conn) => {
        served.push(conn instanceof AuthorityFixingSocket ? 'rewritten' : 'direct');
        h2.emit('connection', conn);
      }),
    );
    await new Promise<void>((resolve) => listener.listen(sock, resolve));
    t.after(() => {
      listener.close();
      h2.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { sock, served };
  }

  it("passes a connection that waits for the server's SETTINGS straight to node:http2 when its authority is good", async (t) => {
    const { sock, served } = await server(t);
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
    t.after(() => session.close());
    // As grpc-js does: no request before the server's SETTINGS.
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    for (let i = 0; i < 3; i++) {
      const req = session.request({ ':path': '/x', ':method': 'POST' });
      req.end();
      let body = '';
      for await (const chunk of req) body += chunk;
      assert.equal(body, 'localhost:80');
    }
    assert.deepEqual(served, ['direct']);
  });

  it('still fixes a socket path sent as :authority after the ACK of its SETTINGS', async (t) => {
    const { sock, served } = await server(t);
    const c = net.connect(sock);
    t.after(() => c.destroy());
    const parser = new FrameParser();
    const frames: ReturnType<FrameParser['push']> = [];
    let wake = (): void => {};
    c.on('data', (chunk: Buffer) => {
      frames.push(...parser.push(chunk));
      wake();
    });
    const until = async (ok: () => boolean) => {
      while (!ok()) await new Promise<void>((resolve) => (wake = resolve));
    };
    c.write(Buffer.concat([PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0)]));
    await until(() => frames.some((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)));
    c.write(
      Buffer.concat([
        encodeFrame(FrameType.SETTINGS, Flag.ACK, 0),
        encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, indexed(request('/run/isulad.sock'))),
      ]),
    );
    await until(() => frames.some((f) => f.type === FrameType.DATA && f.streamId === 1));
    // Every SETTINGS the server sent gets its ACK: nghttp2 must not see the one for ours.
    const settings = frames.filter((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)).length;
    for (let i = 1; i < settings; i++) c.write(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    c.write(encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await until(() => frames.some((f) => f.type === FrameType.PING && f.flags & Flag.ACK));
    assert.equal(frames.find((f) => f.type === FrameType.DATA && f.streamId === 1)!.payload.toString(), 'localhost');
    assert.ok(!frames.some((f) => f.type === FrameType.GOAWAY), 'no GOAWAY');
    assert.deepEqual(served, ['rewritten']);
  });
});
