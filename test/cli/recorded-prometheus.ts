/**
 * An in-process Prometheus HTTP API that answers from a fixture bundle's recorded responses: real
 * answers of Prometheus 2.42 about the lab service (fixtures/README.md). No Prometheus runs on this
 * machine to record more, so:
 *
 * - range queries are matched to the recorded ones (ignoring the rate window) and served exactly as
 *   recorded, limited to the range asked for; any other range query gets Prometheus' empty matrix;
 * - instant queries that need the raw histogram buckets, which a bundle does not keep, are DERIVED
 *   from the recorded series, evaluated at the `time` asked for:
 *     `up{…}[2m]`                                          1-s samples (the lab's scrape interval)
 *     `sum(increase(M_bucket{…,le="+Inf"}[W]))`            Σ recorded request_rate × 1 s over (time−W, time]
 *     `histogram_quantile(q, sum by (le) (increase(M_bucket{…}[W])))`
 *                                                          the request-weighted mean of the recorded rolling
 *                                                          quantile over (time−W, time] (q = 0.99 or 0.5)
 *   and a series or selector the fixture does not have gets Prometheus' empty vector.
 *
 * Every answer has Prometheus' JSON shape: status/data/resultType/result, sample values as strings.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundle } from '../helpers.js';

type Pair = [number, string];
interface Recorded {
  query: string;
  values: Pair[];
}

export interface RecordedPrometheus {
  url: string;
  /** Every request: API name and its form parameters. */
  requests: Array<{ api: string; params: Record<string, string> }>;
  close(): Promise<void>;
}

const normalise = (q: string) => q.replace(/\[\d+s\]/g, '[W]');

export async function recordedPrometheus(name: string): Promise<RecordedPrometheus> {
  const dir = bundle(name);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const prom = manifest.collectors.find((c: { name: string }) => c.name === 'prometheus');
  const metric: string = manifest.target.latencyMetric;
  const selectorBody: string = manifest.target.selector.replace(/^\{|\}$/g, '');
  const recorded = new Map<string, Recorded>();
  for (const [key, query] of Object.entries(prom.meta.queries as Record<string, string>)) {
    const body = JSON.parse(readFileSync(path.join(dir, 'prometheus', `${key}.json`), 'utf8'));
    recorded.set(normalise(query), { query, values: body.data.result[0]?.values ?? [] });
  }
  const series = (key: string) => new Map((recorded.get(normalise(prom.meta.queries[key]))?.values ?? []).map(([t, v]) => [t, Number(v)]));
  const rate = series('request_rate');
  const quantileSeries: Record<string, Map<number, number>> = { '0.99': series('latency_p99'), '0.5': series('latency_p50') };

  const vector = (time: number, v: number | undefined) => ({ resultType: 'vector', result: v === undefined ? [] : [{ metric: {}, value: [time, Number.isNaN(v) ? 'NaN' : String(v)] }] });
  const inRange = (time: number, w: number) => [...rate.keys()].filter((t) => t > time - w && t <= time);

  function instant(q: string, time: number): unknown {
    let m = /^up\{(.*)\}\[2m\]$/.exec(q);
    if (m) {
      const values = m[1] === selectorBody ? Array.from({ length: 120 }, (_, i) => [Math.floor(time) - 119 + i, '1']) : [];
      return { resultType: 'matrix', result: values.length ? [{ metric: { __name__: 'up', job: 'checkout', instance: '127.0.0.1:18080' }, values }] : [] };
    }
    m = /^sum\(increase\((\w+)_bucket\{(.*),le="\+Inf"\}\[(\d+)s\]\)\)$/.exec(q);
    if (m) {
      const ts = inRange(time, Number(m[3]));
      if (m[1] !== metric || m[2] !== selectorBody || ts.length === 0) return vector(time, undefined);
      return vector(time, ts.reduce((n, t) => n + rate.get(t)!, 0));
    }
    m = /^histogram_quantile\(([\d.]+), sum by \(le\) \(increase\((\w+)_bucket\{(.*)\}\[(\d+)s\]\)\)\)$/.exec(q);
    if (m) {
      const s = quantileSeries[m[1]];
      if (!s || m[2] !== metric || m[3] !== selectorBody) return vector(time, undefined);
      const ts = inRange(time, Number(m[4])).filter((t) => s.has(t));
      const n = ts.reduce((a, t) => a + rate.get(t)!, 0);
      // Zero requests: Prometheus' histogram_quantile of an all-zero histogram is NaN.
      return vector(time, n > 0 ? ts.reduce((a, t) => a + s.get(t)! * rate.get(t)!, 0) / n : NaN);
    }
    return vector(time, undefined);
  }

  function range(q: string, start: number, end: number): unknown {
    const r = recorded.get(normalise(q));
    const values = r ? r.values.filter(([t]) => t >= start && t <= end) : [];
    return { resultType: 'matrix', result: values.length ? [{ metric: {}, values }] : [] };
  }

  const requests: RecordedPrometheus['requests'] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const api = (req.url ?? '').replace(/^\/api\/v1\//, '');
      requests.push({ api, params });
      const data = api === 'query' ? instant(params.query, params.time ? Number(params.time) : Date.now() / 1000) : api === 'query_range' ? range(params.query, Number(params.start), Number(params.end)) : undefined;
      res.setHeader('content-type', 'application/json');
      if (!data) {
        res.statusCode = 404;
        return res.end('404 page not found\n');
      }
      res.end(JSON.stringify({ status: 'success', data }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    }),
  };
}
