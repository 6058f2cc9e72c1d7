import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBytes, parseDurationMs } from '../../src/common/units.js';

describe('parseBytes', () => {
  const cases: [string, number | undefined][] = [
    ['64m', 64 * 1024 * 1024],
    ['64M', 64 * 1024 * 1024],
    ['1MB', 1024 * 1024],
    ['30KB', 30 * 1024],
    ['1g', 1024 ** 3],
    ['512', 512],
    ['1.5k', 1536],
    ['', undefined],
    ['12x', undefined],
    ['-1m', undefined],
  ];
  for (const [text, want] of cases) it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseBytes(text), want));
});

describe('parseDurationMs', () => {
  const cases: [string, number | undefined][] = [
    ['2m', 120_000],
    ['10s', 10_000],
    ['100ms', 100],
    ['1m30s', 90_000],
    ['0', 0],
    ['1h', 3_600_000],
    ['10', undefined],
    ['abc', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) it(`${JSON.stringify(text)} -> ${want}`, () => assert.equal(parseDurationMs(text), want));
});
