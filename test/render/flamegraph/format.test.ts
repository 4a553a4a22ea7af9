import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDelta, formatPercent, formatValue } from '../../../src/render/flamegraph/format.js';

describe('formatValue', () => {
  it('scales durations', () => {
    assert.equal(formatValue(0, 'nanoseconds'), '0 ns');
    assert.equal(formatValue(850, 'nanoseconds'), '850 ns');
    assert.equal(formatValue(12_345, 'nanoseconds'), '12.3 µs');
    assert.equal(formatValue(4_560_000, 'nanoseconds'), '4.56 ms');
    assert.equal(formatValue(123_400_000_000, 'nanoseconds'), '123 s');
    assert.equal(formatValue(1.5, 'seconds'), '1.50 s');
  });

  it('scales sizes in binary units', () => {
    assert.equal(formatValue(512, 'bytes'), '512 B');
    assert.equal(formatValue(2048, 'bytes'), '2.00 KB');
    assert.equal(formatValue(5.5 * 2 ** 20, 'bytes'), '5.50 MB');
  });

  it('prints counts exactly, naming units other than "count"', () => {
    assert.equal(formatValue(1_234_567, 'count'), '1,234,567');
    assert.equal(formatValue(42, 'samples'), '42 samples');
    assert.equal(formatValue(0.5, 'count'), '0.50');
  });
});

describe('formatDelta and formatPercent', () => {
  it('signs the change and gives it relative to the baseline', () => {
    assert.equal(formatDelta(1_200_000, 1_000_000, 'nanoseconds'), '+200 µs (+20.0%)');
    assert.equal(formatDelta(500, 2000, 'bytes'), '-1.46 KB (-75.0%)');
    assert.equal(formatDelta(3, 0, 'count'), '+3 (new)');
    assert.equal(formatDelta(0, 0, 'count'), '±0');
  });

  it('gives shares with two decimals', () => {
    assert.equal(formatPercent(1, 3), '33.33%');
    assert.equal(formatPercent(1, 0), '0.00%');
  });
});
