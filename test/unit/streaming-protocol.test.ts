import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiate, REMOTECOMMAND_PROTOCOLS, ResizeDecoder, statusMessage } from '../../src/streaming/remotecommand.js';
import { decodeHeaderBlock, SpdyProtocolError } from '../../src/streaming/spdy.js';
import { acceptKey } from '../../src/streaming/websocket.js';
import { silentLogger } from '../../src/sys/log.js';

// The pieces of the streaming protocols that need no connection (src/streaming/).

function block(pairs: [string, string][], count = pairs.length): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(count));
  for (const [k, v] of pairs) parts.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
  return Buffer.concat(parts);
}

describe('SPDY header blocks', () => {
  it('decodes names lower-cased', () => {
    assert.deepEqual(
      [
        ...decodeHeaderBlock(
          block([
            ['streamType', 'stdout'],
            ['port', '80'],
          ]),
        ),
      ],
      [
        ['streamtype', 'stdout'],
        ['port', '80'],
      ],
    );
  });

  it('refuses truncated blocks, lengths past the end, and too many headers', () => {
    assert.throws(() => decodeHeaderBlock(Buffer.alloc(2)), SpdyProtocolError);
    assert.throws(() => decodeHeaderBlock(block([['a', 'b']], 2)), SpdyProtocolError);
    const lying = block([['a', 'b']]);
    lying.writeUInt32BE(1000, 4);
    assert.throws(() => decodeHeaderBlock(lying), SpdyProtocolError);
    assert.throws(() => decodeHeaderBlock(block([], 65)), /more than 64 headers/);
    assert.throws(() => decodeHeaderBlock(Buffer.alloc(17 << 10)), /too large/);
  });
});

describe('remotecommand', () => {
  it("picks the client's first protocol we speak", () => {
    assert.equal(negotiate(['v9.channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io'], REMOTECOMMAND_PROTOCOLS), 'v4.channel.k8s.io');
    assert.equal(negotiate(['v9.channel.k8s.io'], REMOTECOMMAND_PROTOCOLS), undefined);
  });

  it('writes v4 statuses as client-go reads them, and text for older protocols', () => {
    assert.deepEqual(JSON.parse(statusMessage({ exitCode: 0 }, 'v4.channel.k8s.io')), { metadata: {}, status: 'Success' });
    const failed = JSON.parse(statusMessage({ exitCode: 130 }, 'v5.channel.k8s.io'));
    assert.equal(failed.reason, 'NonZeroExitCode');
    assert.deepEqual(failed.details.causes, [{ reason: 'ExitCode', message: '130' }]);
    assert.equal(JSON.parse(statusMessage({ error: 'boom' }, 'v4.channel.k8s.io')).message, 'boom');
    assert.equal(statusMessage({ exitCode: 0 }, 'v3.channel.k8s.io'), '');
    assert.equal(statusMessage({ error: 'boom' }, 'channel.k8s.io'), 'boom');
  });

  it('reads resize objects split anywhere, and drops junk and oversized messages', () => {
    const d = new ResizeDecoder(silentLogger);
    const sizes: unknown[] = [];
    d.on('resize', (s) => sizes.push(s));
    d.write(Buffer.from('{"Width":1'));
    d.write(Buffer.from('0,"Height":20}\n{"Width":-1,"Height":5}{nope}{"Width":30,"Height":40}'));
    d.write(Buffer.from(`{"Width":${'9'.repeat(5000)}`));
    d.write(Buffer.from('{"Width":1,"Height":2}'));
    assert.deepEqual(sizes, [
      { width: 10, height: 20 },
      { width: 30, height: 40 },
      { width: 1, height: 2 },
    ]);
  });
});

describe('WebSocket handshake', () => {
  it("computes RFC 6455's accept key (its section 1.3 example)", () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});
