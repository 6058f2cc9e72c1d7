import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Encoder } from 'cbor-x';
import { decodeCbor, encodeCbor } from '../../src/api/cbor.js';

// A general-purpose CBOR implementation as the reference peer: what one writes the other reads.
const reference = new Encoder({ useRecords: false, mapsAsObjects: true });

const samples: unknown[] = [
  0,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  -1,
  -24,
  -25,
  -(2 ** 40),
  1.5,
  -0.1,
  1e300,
  '',
  'hello',
  'é ✓ 😀',
  'x'.repeat(70000),
  true,
  false,
  null,
  [],
  [1, 'two', [3, { four: 4 }]],
  {},
  { id: 'abc', exitCode: 137, running: false, labels: { a: 'b' }, args: ['sleep', '3600'], nothing: null },
];

describe('CBOR codec', () => {
  it('reads back what it writes', () => {
    for (const v of samples) assert.deepEqual(decodeCbor(encodeCbor(v)), v);
  });
  it('byte strings come back as the same bytes', () => {
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    const back = decodeCbor(encodeCbor({ data: bytes })) as { data: Uint8Array };
    assert.deepEqual([...back.data], [0, 1, 2, 255]);
  });
  it('undefined survives as CBOR undefined', () => {
    assert.deepEqual(decodeCbor(encodeCbor({ a: undefined, b: 1 })), { a: undefined, b: 1 });
  });
  it('the reference implementation reads what it writes, and the other way round', () => {
    // The reference reads 8-byte integers as BigInt.
    const numbers = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);
    for (const v of samples) {
      assert.deepEqual(numbers(reference.decode(encodeCbor(v))), v, `reference decoding ${JSON.stringify(v)?.slice(0, 40)}`);
      assert.deepEqual(decodeCbor(reference.encode(v)), v, `decoding the reference's ${JSON.stringify(v)?.slice(0, 40)}`);
    }
    const out = decodeCbor(reference.encode({ data: Buffer.from('xyz') })) as { data: Uint8Array };
    assert.equal(Buffer.from(out.data).toString(), 'xyz');
  });
  it('refuses truncated and trailing input, and what it does not speak', () => {
    const full = encodeCbor({ a: 'bcd' });
    assert.throws(() => decodeCbor(full.subarray(0, full.length - 1)), /truncated/);
    assert.throws(() => decodeCbor(Buffer.concat([full, Buffer.from([0])])), /trailing/);
    assert.throws(() => decodeCbor(Buffer.from([0x9f, 0xff])), /indefinite/);
    assert.throws(() => decodeCbor(Buffer.from([0xc1, 0x00])), /tags/);
    assert.throws(() => encodeCbor({ f: () => 1 }), /cannot encode a function/);
  });
});
