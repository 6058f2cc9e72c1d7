import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMonitorRecord, exitCodeOfWaitStatus } from '../../src/runtime/lxc/monitor.js';

/** One struct lxc_msg as lxc-start writes it: type, name[256], value. */
function record(type: number, name: string, value: number): Buffer {
  const buf = Buffer.alloc(264);
  buf.writeInt32LE(type, 0);
  buf.write(name, 4, 'utf8');
  buf.writeInt32LE(value, 260);
  return buf;
}

describe('LXC monitor messages', () => {
  it('a state message names the container and its state', () => {
    assert.deepEqual(decodeMonitorRecord(record(0, 'abc', 2)), { name: 'abc', state: 'RUNNING' });
  });
  it('an exit message carries the raw wait status', () => {
    assert.deepEqual(decodeMonitorRecord(record(2, 'abc', 42 << 8)), { name: 'abc', waitStatus: 42 << 8 });
  });
  it('other message types are skipped', () => assert.equal(decodeMonitorRecord(record(1, 'abc', 0)), undefined));
  it('a wait status reads as a shell reports it: the exit code, or 128 + the signal', () => {
    assert.equal(exitCodeOfWaitStatus(0), 0);
    assert.equal(exitCodeOfWaitStatus(42 << 8), 42);
    assert.equal(exitCodeOfWaitStatus(9), 137);
    assert.equal(exitCodeOfWaitStatus(15 | 0x80), 143); // killed by SIGTERM, core dumped flag set
  });
});
