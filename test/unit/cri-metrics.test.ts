import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricType } from '../../src/api/cri/gen/api_pb.js';
import { METRIC_DESCRIPTORS } from '../../src/services/cri/runtime-metrics.js';
import { parseNetDev } from '../../src/sys/net-dev.js';

describe('parseNetDev', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0',
    '  eth0:18446744073709551615  152254    3    4    0     0          0         0  7740013   94341    5    6    0     0       0          0',
    'bad0: 1 2 3',
    '',
  ].join('\n');

  it('reads each interface’s receive and transmit counters, 64-bit values included, and skips the headers and short lines', () => {
    assert.deepEqual(parseNetDev(text), [
      { name: 'lo', rxBytes: 120n, rxPackets: 2n, rxErrors: 0n, rxDropped: 0n, txBytes: 120n, txPackets: 2n, txErrors: 0n, txDropped: 0n },
      {
        name: 'eth0',
        rxBytes: 18446744073709551615n,
        rxPackets: 152254n,
        rxErrors: 3n,
        rxDropped: 4n,
        txBytes: 7740013n,
        txPackets: 94341n,
        txErrors: 5n,
        txDropped: 6n,
      },
    ]);
  });
});

describe('CRI metric descriptors', () => {
  it('are named once each, start with the base labels, and count only what grows', () => {
    const names = METRIC_DESCRIPTORS.map((d) => d.name);
    assert.equal(new Set(names).size, names.length);
    for (const d of METRIC_DESCRIPTORS) {
      assert.deepEqual(d.labelKeys.slice(0, 5), ['id', 'image', 'namespace', 'pod', 'container'], d.name);
      assert.equal(d.type === MetricType.COUNTER, d.name.endsWith('_total'), d.name);
    }
  });
});
