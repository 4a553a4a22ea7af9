import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildQueries } from '../../../src/sources/prometheus/queries.js';
import { measureWindow, rollingQuantileQuery, windowCountQuery, windowQuantileQuery } from '../../../src/sources/prometheus/slo.js';
import { SleuthError } from '../../../src/errors.js';
import { recordedPrometheus } from '../../cli/recorded-prometheus.js';

test('the rolling quantile is exactly the query capture stores for latency_p99 and latency_p50', () => {
  for (const sel of ['{job="checkout"}', '{job="a",namespace=~"shop|cart"}', undefined]) {
    const q = buildQueries(sel, 'http_request_duration_seconds', '4s');
    assert.equal(rollingQuantileQuery(0.99, 'http_request_duration_seconds', sel, '4s'), q.latency_p99);
    assert.equal(rollingQuantileQuery(0.5, 'http_request_duration_seconds', sel, '4s'), q.latency_p50);
  }
  assert.equal(windowQuantileQuery(0.999, 'm', '{job="a"}', '600s'), 'histogram_quantile(0.999, sum by (le) (increase(m_bucket{job="a"}[600s])))');
  assert.equal(windowCountQuery('m', '{job="a"}', '600s'), 'sum(increase(m_bucket{job="a",le="+Inf"}[600s]))');
  assert.equal(windowCountQuery('m', undefined, '60s'), 'sum(increase(m_bucket{le="+Inf"}[60s]))');
});

test('measureWindow: whole-window and worst rolling values from the recorded lab series', async () => {
  const prom = await recordedPrometheus('gc-pressure');
  try {
    const [start, end] = [Date.parse('2026-11-21T18:49:13Z') / 1000, Date.parse('2026-11-21T18:49:44Z') / 1000];
    const m = await measureWindow({ url: prom.url }, { selector: '{job="checkout"}', start, end, quantiles: [0.99, 0.5, 0.95] });
    assert.equal(m.latencyMetric, 'http_request_duration_seconds');
    assert.equal(m.scrapeInterval, 1);
    assert.equal(m.rollingSeconds, 4);
    assert.equal(Math.round(m.requests!), 1470);
    const [p99, p50, p95] = m.measurements;
    assert.ok(Math.abs(p99.windowSeconds! - 0.0198) < 0.0001, String(p99.windowSeconds));
    assert.ok(Math.abs(p99.worstSeconds! - 0.043375) < 1e-9);
    assert.equal(p99.worstAt, end);
    assert.ok(p50.windowSeconds! < p99.windowSeconds!);
    // Rolling points start one rate window into the window: no point reaches back before it.
    assert.ok(m.rolling[0].length > 0 && m.rolling[0].every(([t]) => t >= start + 4 && t <= end));
    // The recording has no P95 series: nothing measured, which judge() turns into "not evaluated".
    assert.match(p95.missing!, /gave no quantile in the window/);
  } finally {
    await prom.close();
  }
});

test('measureWindow: a histogram that counted no request in the window is "no requests", not a pass', async () => {
  // Prometheus' answer for the increase of a counter that did not move is a real 0 sample.
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const p = new URLSearchParams(body);
      const time = Number(p.get('time') ?? 0);
      const result = p.get('query')!.includes('le="+Inf"') ? [{ metric: {}, value: [time, '0'] }] : [];
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: p.get('query')!.startsWith('up{') ? 'matrix' : 'vector', result } }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const m = await measureWindow({ url }, { selector: '{job="idle"}', start: 1795286400, end: 1795287000, quantiles: [0.99] });
    assert.equal(m.requests, 0);
    assert.match(m.missing!, /no requests in the window/);
    assert.match(m.measurements[0].missing!, /no requests/);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
  await assert.rejects(measureWindow({ url: 'http://127.0.0.1:1', timeoutMs: 2000 }, { selector: '{job="x"}', start: 0, end: 60, quantiles: [0.99] }), (e: unknown) => e instanceof SleuthError && e.kind === 'unavailable');
});
