import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeFrame,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  Flag,
  framePayload,
  FrameParser,
  FrameType,
  parseSettings,
  Setting,
  type Frame,
} from '../../src/common/h2/frames.js';

describe('HTTP/2 frames', () => {
  it('encode the 9-byte header of RFC 7540 section 4.1', () => {
    const f = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 0x80000003, Buffer.from('abc'));
    assert.equal(f.toString('hex'), '000003' + '01' + '05' + '00000003' + '616263');
  });

  it('round-trip through the parser whole, together, and one byte at a time', () => {
    const frames: Frame[] = [
      { type: FrameType.DATA, flags: Flag.END_STREAM, streamId: 1, payload: Buffer.alloc(16_384, 7) },
      { type: FrameType.PING, flags: 0, streamId: 0, payload: Buffer.from('12345678') },
      { type: FrameType.SETTINGS, flags: Flag.ACK, streamId: 0, payload: Buffer.alloc(0) },
      { type: 0xee, flags: 0xff, streamId: 0x7fffffff, payload: Buffer.from('unknown type') },
    ];
    const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.flags, f.streamId, f.payload)));
    assert.deepEqual(new FrameParser().push(wire), frames);
    const parser = new FrameParser();
    const got: Frame[] = [];
    for (let i = 0; i < wire.length; i++) got.push(...parser.push(wire.subarray(i, i + 1)));
    assert.deepEqual(got, frames);
  });

  it('refuse a frame larger than the maximum frame size', () => {
    const wire = encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_385));
    assert.throws(() => new FrameParser().push(wire), /exceeds the maximum frame size/);
    assert.equal(new FrameParser(20_000).push(wire).length, 1);
  });

  it('strip padding from DATA and padding and priority from HEADERS', () => {
    const padded: Frame = { type: FrameType.DATA, flags: Flag.PADDED, streamId: 1, payload: Buffer.from('\x03data\0\0\0', 'latin1') };
    assert.equal(framePayload(padded).toString(), 'data');
    const headers: Frame = {
      type: FrameType.HEADERS,
      flags: Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS,
      streamId: 1,
      payload: Buffer.from('\x02\x00\x00\x00\x03\x10block\0\0', 'latin1'),
    };
    assert.equal(framePayload(headers).toString(), 'block');
    assert.throws(() => framePayload({ ...padded, payload: Buffer.from('\x09ab', 'latin1') }), /padding/);
  });

  it('encode and parse SETTINGS, WINDOW_UPDATE and RST_STREAM payloads', () => {
    const settings: [number, number][] = [
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, 0x7fffffff],
      [0x99, 1],
    ];
    const [f] = new FrameParser().push(encodeSettings(settings));
    assert.equal(f!.type, FrameType.SETTINGS);
    assert.deepEqual(parseSettings(f!.payload), settings);
    assert.throws(() => parseSettings(Buffer.alloc(5)), /bad length/);
    assert.equal(encodeWindowUpdate(3, 1000).toString('hex'), '000004080000000003000003e8');
    assert.equal(encodeRstStream(5, 8).toString('hex'), '00000403000000000500000008');
  });
});
