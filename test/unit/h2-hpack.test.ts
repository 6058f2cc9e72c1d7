import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeHeaders, HpackDecoder, huffmanCodes, huffmanDecode, type HeaderList } from '../../src/common/h2/hpack.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 7541 Appendix C: each step's encoded block, decoded header list, and the dynamic
// table after it (newest first) with its size.
interface Step {
  block: string;
  headers: HeaderList;
  table: HeaderList;
  size: number;
}

function run(steps: Step[], limit = 4096): void {
  const d = new HpackDecoder(limit);
  for (const [i, step] of steps.entries()) {
    assert.deepEqual(d.decode(hex(step.block)), step.headers, `step ${i + 1}`);
    assert.deepEqual(d.entries, step.table, `table after step ${i + 1}`);
    assert.equal(d.size, step.size, `table size after step ${i + 1}`);
  }
}

const req1: HeaderList = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const req2: HeaderList = [...req1, ['cache-control', 'no-cache']];
const req3: HeaderList = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const reqTables: [HeaderList, number][] = [
  [[[':authority', 'www.example.com']], 57],
  [
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    110,
  ],
  [
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    164,
  ],
];

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const url = 'https://www.example.com';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const res1: HeaderList = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', date1],
  ['location', url],
];
const res2: HeaderList = [[':status', '307'], ...res1.slice(1)];
const res3: HeaderList = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', date2],
  ['location', url],
  ['content-encoding', 'gzip'],
  ['set-cookie', cookie],
];
const resTables: [HeaderList, number][] = [
  [
    [
      ['location', url],
      ['date', date1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    222,
  ],
  [
    [
      [':status', '307'],
      ['location', url],
      ['date', date1],
      ['cache-control', 'private'],
    ],
    222,
  ],
  [
    [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', date2],
    ],
    215,
  ],
];

function steps(blocks: string[], headers: HeaderList[], tables: [HeaderList, number][]): Step[] {
  return blocks.map((block, i) => ({ block, headers: headers[i]!, table: tables[i]![0], size: tables[i]![1] }));
}

describe('HPACK decoder, RFC 7541 Appendix C', () => {
  it('C.2: one field of each representation', () => {
    run([
      {
        block: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        headers: [['custom-key', 'custom-header']],
        table: [['custom-key', 'custom-header']],
        size: 55,
      },
    ]);
    run([{ block: '040c 2f73 616d 706c 652f 7061 7468', headers: [[':path', '/sample/path']], table: [], size: 0 }]);
    run([{ block: '1008 7061 7373 776f 7264 0673 6563 7265 74', headers: [['password', 'secret']], table: [], size: 0 }]);
    run([{ block: '82', headers: [[':method', 'GET']], table: [], size: 0 }]);
  });

  it('C.3: requests without Huffman coding', () => {
    const blocks = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ];
    run(steps(blocks, [req1, req2, req3], reqTables));
  });

  it('C.4: requests with Huffman coding', () => {
    const blocks = [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ];
    run(steps(blocks, [req1, req2, req3], reqTables));
  });

  it('C.5: responses without Huffman coding, evicting from a 256-octet table', () => {
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32
       3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970
       7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61
       6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
    ];
    run(steps(blocks, [res1, res2, res3], resTables), 256);
  });

  it('C.6: responses with Huffman coding, evicting from a 256-octet table', () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
       1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2
       e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ];
    run(steps(blocks, [res1, res2, res3], resTables), 256);
  });
});

describe('HPACK decoder, table size updates and errors', () => {
  it('a size update shrinks the table at once and may grow it back to our limit', () => {
    const d = new HpackDecoder();
    d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')); // C.3.1
    d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')); // C.3.2
    assert.equal(d.entries.length, 2);
    d.decode(hex('3f1a')); // 5-bit prefix integer: 31 + 26 = 57 octets, room for one of the two
    assert.deepEqual(d.entries, [['cache-control', 'no-cache']]);
    assert.equal(d.size, 53);
    d.decode(hex('20')); // size 0 empties it
    assert.deepEqual(d.entries, []);
    d.decode(hex('3fe11f')); // 31 + 97 + 31*128 = 4096, the multi-byte form (RFC 7541 C.1.2)
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    assert.equal(d.size, 55);
  });

  it('refuses a size update above the SETTINGS_HEADER_TABLE_SIZE we advertised', () => {
    assert.throws(() => new HpackDecoder(256).decode(hex('3fe11f')), /above our limit/);
  });

  it('refuses bad indices and truncated blocks', () => {
    assert.throws(() => new HpackDecoder().decode(hex('80')), /bad table index 0/);
    assert.throws(() => new HpackDecoder().decode(hex('be')), /bad table index 62/);
    assert.throws(() => new HpackDecoder().decode(hex('400a 6375')), /truncated/);
  });
});

describe('Huffman code', () => {
  it('is the canonical code of RFC 7541 Appendix B', () => {
    const codes = huffmanCodes();
    const spotChecks: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [92, 0x7fff0, 19],
      [116, 0x9, 5],
      [127, 0xffffffc, 28],
      [135, 0x7fffd9, 23],
      [142, 0xffffeb, 24],
      [195, 0x7fff1, 19],
      [199, 0x1ffffec, 25],
      [208, 0x7fff2, 19],
      [220, 0xffffffd, 28],
      [249, 0xffffffe, 28],
      [254, 0x7fffff0, 27],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [sym, code, length] of spotChecks) assert.deepEqual(codes[sym], [code, length], `symbol ${sym}`);
    // A complete prefix code: the Kraft sum is exactly 1.
    assert.equal(
      codes.reduce((sum, [, length]) => sum + 2 ** -length, 0),
      1,
    );
  });

  it('decodes every byte value, and refuses EOS and bad padding', () => {
    const codes = huffmanCodes();
    const bits = [...Array(256).keys()].map((sym) => codes[sym]![0].toString(2).padStart(codes[sym]![1], '0')).join('');
    const padded = bits + '1'.repeat((8 - (bits.length % 8)) % 8);
    const bytes = Buffer.from(padded.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
    assert.deepEqual(Buffer.from(huffmanDecode(bytes), 'latin1'), Buffer.from([...Array(256).keys()]));
    assert.throws(() => huffmanDecode(hex('ffffffff')), /EOS/);
    assert.throws(() => huffmanDecode(hex('00')), /padding/); // '0' then 000: padding not all ones
    assert.throws(() => huffmanDecode(hex('07ff')), /padding/); // 'o' then 11 ones: padding of a byte or more
  });
});

describe('HPACK encoder', () => {
  it('round-trips through the decoder, leaving its table alone', () => {
    const headers: HeaderList = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/isulad.ContainerService/List'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['x-long', 'v'.repeat(300)], // a length past the 7-bit prefix: 127 + 173 in two more bytes
      ['x-longer', 'w'.repeat(70_000)],
    ];
    const block = encodeHeaders(headers);
    assert.deepEqual([...block.subarray(0, 14)], [0, 7, ...Buffer.from(':method'), 4, ...Buffer.from('POST')]);
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(block), headers);
    assert.equal(d.size, 0, 'literals without indexing leave the table alone');
  });
});
