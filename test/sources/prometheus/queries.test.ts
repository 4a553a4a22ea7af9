import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQueries, selectorBody } from '../../../src/sources/prometheus/queries.js';
import { SleuthError } from '../../../src/errors.js';

test('selector body keeps label matchers, including commas inside quoted values', () => {
  assert.equal(selectorBody('{job="checkout"}'), 'job="checkout"');
  assert.equal(selectorBody('{job="a,b", pod=~"x-.*"}'), 'job="a,b", pod=~"x-.*"');
  assert.equal(selectorBody(undefined), '');
  assert.equal(selectorBody('{}'), '');
});

test('invalid selectors are usage errors naming the selector', () => {
  for (const bad of ['job="x"', '{job=x}', '{job="x"} or vector(1)', '{1job="x"}', '{job="x"}) by (le']) {
    assert.throws(() => selectorBody(bad), (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && e.message.includes('invalid selector'), bad);
  }
});

test('queries put the selector on every series and aggregate to one series', () => {
  const q = buildQueries('{job="checkout"}', 'http_request_duration_seconds', '1m');
  assert.equal(q.latency_p99, 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="checkout"}[1m])))');
  assert.equal(q.gc_pause_max, 'max(go_gc_duration_seconds{job="checkout",quantile="1"})');
  for (const [k, v] of Object.entries(q)) assert.match(v, /job="checkout"/, k);
});
