import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  encodeFrame,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  Flag,
  FrameParser,
  FrameType,
  parseSettings,
  PREFACE,
  Setting,
  type Frame,
} from '../../src/common/h2/frames.js';
import { encodeHeaders, HpackDecoder } from '../../src/common/h2/hpack.js';
import { H2Session, RecvWindow, type StreamError, type StreamEvents } from '../../src/client/h2/session.js';
import { connectUnix } from '../../src/client/unix-socket.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2-session-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

/** A scripted HTTP/2 server: the test reads the client's frames and writes its own. */
class Peer {
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  private readonly parser = new FrameParser(1 << 20);
  private preface = Buffer.alloc(0);

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (this.preface.length < PREFACE.length) {
        this.preface = Buffer.concat([this.preface, chunk]);
        if (this.preface.length < PREFACE.length) return;
        assert.deepEqual(this.preface.subarray(0, PREFACE.length), PREFACE);
        chunk = this.preface.subarray(PREFACE.length);
      }
      this.frames.push(...this.parser.push(chunk));
      this.waiter?.();
    });
  }

  /** The next frame the client sent that matches `want`; it and those before it are taken unless `keep`. */
  async next(want: (f: Frame) => boolean = () => true, keep = false): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex(want);
      if (i >= 0) return keep ? this.frames[i]! : this.frames.splice(0, i + 1)[i]!;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Everything the client sent so far (after a round trip through a PING, so nothing is in flight). */
  async drain(): Promise<Frame[]> {
    this.send(encodeFrame(FrameType.PING, 0, 0, Buffer.from('drain---')));
    const pong = await this.next((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0, true);
    const sent = this.frames.splice(0);
    return sent.slice(0, sent.indexOf(pong));
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }
}

/** A session connected to a scripted peer; `done` hangs up and stops listening. */
async function connect(windowSize?: number): Promise<{ session: H2Session; peer: Peer; done: () => void }> {
  const file = path.join(dir, `s${sockets++}.sock`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const session = new H2Session(connectUnix(file), windowSize);
  const peer = new Peer(await accepted);
  return {
    session,
    peer,
    done: () => {
      peer.socket.destroy();
      server.close();
    },
  };
}

function recorder(): StreamEvents & { headers: Record<string, string>[]; data: Buffer[]; closed: Promise<StreamError | undefined> } {
  let onClose!: (e?: StreamError) => void;
  const closed = new Promise<StreamError | undefined>((resolve) => (onClose = resolve));
  const r = {
    headers: [] as Record<string, string>[],
    data: [] as Buffer[],
    closed,
    onHeaders: (h: Record<string, string>) => void r.headers.push({ ...h }),
    onData: (d: Buffer) => void r.data.push(d),
    onClose: (e?: StreamError) => onClose(e),
  };
  return r;
}

const REQUEST: [string, string][] = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/test'],
  [':authority', 'localhost'],
];
const dataBytes = (frames: Frame[]): number[] => frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length);
const respond = (id: number, headers: [string, string][], flags: number = Flag.END_HEADERS): Buffer =>
  encodeFrame(FrameType.HEADERS, flags, id, encodeHeaders(headers));

describe('receive window', () => {
  it('tops the window up once half of it is used', () => {
    const w = new RecvWindow(1000);
    assert.equal(w.consume(400), 0);
    assert.equal(w.consume(100), 500);
    assert.equal(w.consume(499), 0);
    assert.equal(w.consume(1), 500);
    assert.equal(w.consume(1000), 1000);
  });
});

describe('HTTP/2 session against a scripted peer', () => {
  it('opens with SETTINGS and a connection WINDOW_UPDATE, and acknowledges the peer settings', async () => {
    const { peer, done } = await connect();
    const settings = await peer.next();
    assert.equal(settings.type, FrameType.SETTINGS);
    assert.deepEqual(parseSettings(settings.payload), [
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, 16 * 1024 * 1024],
    ]);
    const update = await peer.next();
    assert.equal(update.type, FrameType.WINDOW_UPDATE);
    assert.equal(update.payload.readUInt32BE(0), 16 * 1024 * 1024 - 65_535);
    peer.send(encodeSettings([[Setting.MAX_CONCURRENT_STREAMS, 100]]));
    const ack = await peer.next();
    assert.deepEqual([ack.type, ack.flags, ack.payload.length], [FrameType.SETTINGS, Flag.ACK, 0]);
    peer.send(encodeFrame(FrameType.PING, 0, 0, Buffer.from('pingpong')));
    const pong = await peer.next();
    assert.deepEqual([pong.type, pong.flags, pong.payload.toString()], [FrameType.PING, Flag.ACK, 'pingpong']);
    done();
  });

  it('sends no more than the stream window, and the rest as WINDOW_UPDATEs come', async () => {
    const { session, peer, done } = await connect();
    peer.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 100]]));
    await peer.next((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK);
    const events = recorder();
    const stream = session.request(REQUEST, events);
    stream.write(Buffer.alloc(600, 1));
    stream.write(Buffer.alloc(400, 2));
    stream.end();
    const headers = await peer.next((f) => f.type === FrameType.HEADERS);
    assert.deepEqual(new HpackDecoder().decode(headers.payload), REQUEST);
    assert.deepEqual(dataBytes(await peer.drain()), [100]);
    peer.send(encodeWindowUpdate(stream.id, 50));
    assert.deepEqual(dataBytes(await peer.drain()), [50]);
    // Lowering the initial window takes it below zero: nothing may be sent until it is back above.
    peer.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 0]]));
    peer.send(encodeWindowUpdate(stream.id, 90));
    assert.deepEqual(dataBytes(await peer.drain()), []);
    peer.send(encodeWindowUpdate(stream.id, 10_000));
    const rest = (await peer.drain()).filter((f) => f.type === FrameType.DATA);
    assert.deepEqual(dataBytes(rest), [450, 400]);
    assert.equal(rest[1]!.flags, Flag.END_STREAM, 'END_STREAM rides on the last data');
    peer.send(
      respond(
        stream.id,
        [
          [':status', '200'],
          ['grpc-status', '0'],
        ],
        Flag.END_HEADERS | Flag.END_STREAM,
      ),
    );
    assert.equal(await events.closed, undefined);
    assert.deepEqual(events.headers, [{ ':status': '200', 'grpc-status': '0' }]);
    done();
  });

  it('stays within the connection window and the peer maximum frame size', async () => {
    const { session, peer, done } = await connect();
    peer.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]));
    const stream = session.request(REQUEST, recorder());
    stream.write(Buffer.alloc(70_000));
    assert.deepEqual(dataBytes(await peer.drain()), [16_384, 16_384, 16_384, 16_383]);
    peer.send(encodeSettings([[Setting.MAX_FRAME_SIZE, 20_000]]));
    peer.send(encodeWindowUpdate(0, 100_000));
    assert.deepEqual(dataBytes(await peer.drain()), [4465]);
    stream.write(Buffer.alloc(30_000));
    stream.end();
    assert.deepEqual(dataBytes(await peer.drain()), [20_000, 10_000, 0]); // the end came after the data went
    done();
  });

  it('gives credit back as data is consumed, for the stream and the connection', async () => {
    const { session, peer, done } = await connect(1000);
    const events = recorder();
    const stream = session.request(REQUEST, events);
    stream.end();
    peer.send(respond(stream.id, [[':status', '200']]));
    peer.send(encodeFrame(FrameType.DATA, 0, stream.id, Buffer.alloc(400)));
    assert.deepEqual(
      (await peer.drain()).filter((f) => f.type === FrameType.WINDOW_UPDATE),
      [],
    );
    // Padded: the padding counts too.
    peer.send(encodeFrame(FrameType.DATA, Flag.PADDED, stream.id, Buffer.from([99, ...Buffer.alloc(100 + 99)])));
    const updates = (await peer.drain()).filter((f) => f.type === FrameType.WINDOW_UPDATE);
    assert.deepEqual(
      updates.map((f) => [f.streamId, f.payload.readUInt32BE(0)]),
      [
        [0, 600],
        [stream.id, 600],
      ],
    );
    assert.deepEqual(
      events.data.map((d) => d.length),
      [400, 100],
    );
    done();
  });

  it('joins HEADERS and CONTINUATION, and reads trailers', async () => {
    const { session, peer, done } = await connect();
    const events = recorder();
    const stream = session.request(REQUEST, events);
    stream.end();
    const block = encodeHeaders([
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['x-big', 'x'.repeat(300)],
    ]);
    peer.send(encodeFrame(FrameType.HEADERS, 0, stream.id, block.subarray(0, 10)));
    peer.send(encodeFrame(FrameType.CONTINUATION, 0, stream.id, block.subarray(10, 200)));
    peer.send(encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, stream.id, block.subarray(200)));
    peer.send(encodeFrame(FrameType.DATA, 0, stream.id, Buffer.from('reply')));
    peer.send(
      respond(
        stream.id,
        [
          ['grpc-status', '3'],
          ['grpc-message', 'bad%20thing'],
        ],
        Flag.END_HEADERS | Flag.END_STREAM,
      ),
    );
    assert.equal(await events.closed, undefined);
    assert.deepEqual(events.headers, [
      { ':status': '200', 'content-type': 'application/grpc', 'x-big': 'x'.repeat(300) },
      { 'grpc-status': '3', 'grpc-message': 'bad%20thing' },
    ]);
    assert.equal(Buffer.concat(events.data).toString(), 'reply');
    done();
  });

  it('ends streams on RST_STREAM and GOAWAY, and sends RST_STREAM on cancel', async () => {
    const { session, peer, done } = await connect();
    const [a, b, c, d] = [recorder(), recorder(), recorder(), recorder()];
    const sa = session.request(REQUEST, a);
    const sb = session.request(REQUEST, b);
    const sc = session.request(REQUEST, c);
    const sd = session.request(REQUEST, d);
    assert.deepEqual([sa.id, sb.id, sc.id, sd.id], [1, 3, 5, 7]);
    peer.send(encodeRstStream(sa.id, 2));
    assert.equal((await a.closed)?.message, 'Stream closed with error code NGHTTP2_INTERNAL_ERROR');
    peer.send(encodeRstStream(sb.id, 8));
    assert.equal(await b.closed, undefined);
    sc.cancel();
    assert.equal(await c.closed, undefined);
    const rst = await peer.next((f) => f.type === FrameType.RST_STREAM);
    assert.deepEqual([rst.streamId, rst.payload.readUInt32BE(0)], [sc.id, 8]);
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(5, 0);
    peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, goaway));
    assert.equal((await d.closed)?.message, 'Stream closed with error code NGHTTP2_REFUSED_STREAM');
    assert.equal(session.usable, false);
    done();
  });

  it('fails every stream on a GOAWAY with an error code', async () => {
    const { session, peer, done } = await connect();
    const events = recorder();
    session.request(REQUEST, events);
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(1, 0);
    goaway.writeUInt32BE(8, 4);
    peer.send(encodeFrame(FrameType.GOAWAY, 0, 0, goaway));
    assert.equal((await events.closed)?.message, 'Session closed with error code 8');
    assert.equal(session.destroyed, true);
    done();
  });

  it('closes gracefully: once the open streams have ended', async () => {
    const { session, peer, done } = await connect();
    const events = recorder();
    const stream = session.request(REQUEST, events);
    stream.end();
    let hungUp = false;
    const end = new Promise((resolve) => peer.socket.once('end', resolve)).then(() => (hungUp = true));
    session.close();
    assert.equal(session.usable, false);
    await peer.drain();
    assert.equal(hungUp, false, 'the stream is still open');
    peer.send(
      respond(
        stream.id,
        [
          [':status', '200'],
          ['grpc-status', '0'],
        ],
        Flag.END_HEADERS | Flag.END_STREAM,
      ),
    );
    assert.equal(await events.closed, undefined);
    await end;
    done();
  });

  it('fails the open streams when the connection breaks', async () => {
    const { session, peer, done } = await connect();
    const events = recorder();
    session.request(REQUEST, events);
    await peer.next((f) => f.type === FrameType.HEADERS);
    peer.socket.destroy();
    assert.equal(await events.closed, undefined);
    assert.equal(session.destroyed, true);
    const missing = new H2Session(connectUnix(path.join(dir, 'missing.sock')));
    const failed = recorder();
    missing.request(REQUEST, failed);
    assert.equal((await failed.closed)?.code, 'ENOENT');
    done();
  });
});

describe('HTTP/2 session against node:http2 (nghttp2, as under grpc-js)', () => {
  it('streams both ways with flow control, and decodes Huffman-coded, indexed headers', async () => {
    const file = path.join(dir, 'nghttp2.sock');
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      let received = 0;
      stream.on('data', (d: Buffer) => (received += d.length));
      stream.on('end', () => {
        if (headers[':path'] === '/trailers-only') {
          stream.respond({ ':status': 200, 'grpc-status': '5', 'grpc-message': 'not found ü' }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-repeated': 'same value every time' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-received': String(received) }));
        stream.end(big);
      });
    });
    await new Promise<void>((resolve) => server.listen(file, resolve));
    // A small receive window, so the server waits on our WINDOW_UPDATEs many times.
    const session = new H2Session(connectUnix(file), 20_000);
    for (let round = 0; round < 3; round++) {
      const events = recorder();
      const stream = session.request([...REQUEST.slice(0, 2), [':path', '/echo'], [':authority', 'localhost']], events);
      stream.write(big); // more than the server's 65535-byte windows
      stream.end();
      assert.equal(await events.closed, undefined);
      assert.deepEqual(Buffer.concat(events.data), big);
      assert.equal(events.headers[0]!['x-repeated'], 'same value every time');
      assert.deepEqual(events.headers[1], { 'grpc-status': '0', 'x-received': String(big.length) });
    }
    const only = recorder();
    session.request([...REQUEST.slice(0, 2), [':path', '/trailers-only'], [':authority', 'localhost']], only).end();
    assert.equal(await only.closed, undefined);
    assert.equal(only.headers.length, 1);
    assert.equal(only.headers[0]!['grpc-status'], '5');
    session.close();
    await new Promise((resolve) => server.close(resolve));
  });
});
