/** The /metrics histogram parser and the interval P99, on real lab exposition text (fixtures/metrics). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../helpers.js';
import { histogramNames, parseHistogram } from '../../../src/sources/metrics/parse.js';
import { bucketIncrease, histogramQuantile, requestCount } from '../../../src/sources/metrics/quantile.js';
import { SleuthError } from '../../../src/errors.js';

const fixture = (name: string) => readFile(path.join(ROOT, 'fixtures', 'metrics', name), 'utf8');
const M = 'http_request_duration_seconds';

test('the lab histogram parses into ordered cumulative buckets ending at +Inf', async () => {
  const h = parseHistogram(await fixture('labsvc-calm.txt'), M, 'calm')!;
  assert.equal(h.series, 1);
  assert.deepEqual(h.buckets.map((b) => b.le), [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity]);
  assert.deepEqual(h.buckets.map((b) => b.count), [0, 0, 140, 148, 150, 150, 150, 150, 150, 150, 150, 150, 150, 150, 150]);
  assert.ok(histogramNames(await fixture('labsvc-calm.txt')).includes(M));
});

test('interval P99 = quantile of the bucket increase, interpolated like histogram_quantile', async () => {
  const a = parseHistogram(await fixture('labsvc-calm.txt'), M, 'calm')!;
  const b = parseHistogram(await fixture('labsvc-lock-contention.txt'), M, 'lock')!;
  const inc = bucketIncrease(a.buckets, b.buckets);
  assert.equal(requestCount(inc), 150);
  // Increase: 146 by 10 ms, 149 by 25 ms; rank 0.99×150 = 148.5 → 10 + 15 × (2.5/3) ms.
  assert.ok(Math.abs(histogramQuantile(0.99, inc)! - 0.0225) < 1e-12);
  // The calm interval on its own: rank 148.5 between 148 (5 ms) and 150 (10 ms).
  assert.ok(Math.abs(histogramQuantile(0.99, a.buckets)! - 0.00625) < 1e-12);
});

test('edge cases follow PromQL: no requests, rank in +Inf, first bucket from 0, counter reset', () => {
  const le = [0.1, 1, Infinity];
  const h = (counts: number[]) => counts.map((count, i) => ({ le: le[i], count }));
  assert.equal(histogramQuantile(0.99, h([0, 0, 0])), undefined);
  assert.equal(histogramQuantile(0.99, h([0, 0, 10])), 1, 'a rank in +Inf answers the highest finite bound');
  assert.equal(histogramQuantile(0.5, h([10, 10, 10])), 0.05, 'the first bucket starts at 0');
  assert.deepEqual(bucketIncrease(h([5, 8, 9]), h([1, 2, 2])), h([1, 2, 2]), 'a restarted process counts from zero');
  assert.deepEqual(bucketIncrease(h([5, 8, 9]), h([6, 9, 12])), h([1, 1, 3]));
});

test('series are summed by le, filtered by labels, and malformed buckets are input errors', () => {
  const text = [
    '# TYPE rq histogram',
    'rq_bucket{path="/a",le="0.1"} 1',
    'rq_bucket{path="/a",le="+Inf"} 2',
    'rq_bucket{path="/b \\"x\\"",le="0.1"} 3 1700000000000',
    'rq_bucket{path="/b \\"x\\"",le="+Inf"} 5 # {trace_id="abc"} 0.2',
    'rq_sum 1', 'rq_count 7',
  ].join('\n');
  assert.deepEqual(parseHistogram(text, 'rq', 't')!.buckets, [{ le: 0.1, count: 4 }, { le: Infinity, count: 7 }]);
  assert.deepEqual(parseHistogram(text, 'rq', 't', { path: '/b "x"' })!.buckets, [{ le: 0.1, count: 3 }, { le: Infinity, count: 5 }]);
  assert.equal(parseHistogram(text, 'other', 't'), undefined);
  assert.throws(() => parseHistogram('rq_bucket{le="0.1"} 1\n', 'rq', 'cut'), (e: unknown) => e instanceof SleuthError && e.kind === 'input' && /\+Inf/.test(e.message));
  assert.throws(() => parseHistogram('rq_bucket{path="/"} 1\n', 'rq', 'nole'), (e: unknown) => e instanceof SleuthError && /le/.test(e.message));
});
