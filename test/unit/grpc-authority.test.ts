import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, Flag, FrameParser, FrameType, PREFACE } from '../../src/common/h2/frames.js';
import { encodeHeaders, HpackDecoder } from '../../src/common/h2/hpack.js';
import { firstHeadersFit, HeaderRewriter } from '../../src/daemon/grpc/authority.js';

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

describe('firstHeadersFit', () => {
  const start = Buffer.concat([PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(6))]);
  const headers = (authority: string, flags: number = Flag.END_HEADERS) => encodeFrame(FrameType.HEADERS, flags, 1, indexed(request(authority)));

  it('lets a first read with a whole header block and a good authority go straight to nghttp2', () => {
    assert.equal(firstHeadersFit(Buffer.concat([start, headers('localhost')])), true);
    assert.equal(firstHeadersFit(Buffer.concat([start, headers('127.0.0.1:2375'), encodeFrame(FrameType.DATA, 1, 1)])), true);
  });

  it('sends everything else through the rewriting', () => {
    assert.equal(firstHeadersFit(Buffer.concat([start, headers('/run/isulad.sock')])), false, 'a socket path');
    assert.equal(firstHeadersFit(start), false, 'no header block yet (grpc-go waits for our SETTINGS)');
    const whole = Buffer.concat([start, headers('localhost')]);
    assert.equal(firstHeadersFit(whole.subarray(0, whole.length - 1)), false, 'a block cut short');
    assert.equal(firstHeadersFit(Buffer.concat([start, headers('localhost', 0)])), false, 'CONTINUATION to come');
    assert.equal(firstHeadersFit(Buffer.from('GET / HTTP/1.1\r\n\r\n')), false, 'not HTTP/2');
  });
});
