/**
 * Measuring latency quantiles over a fixed window from Prometheus, for `check`: the quantile of every
 * request in the window (`histogram_quantile` over the histogram's `increase` across the whole
 * window, evaluated at its end) and the rolling quantile series over the window, whose maximum is the
 * worst moment. Queries are evaluated at the window's end, not now, so a service stopped after its
 * load test is still found.
 */
import type { Measurement } from '../../analysis/slo.js';
import { redactUrl } from '../../util/redact.js';
import { promApi, queryRange, type PromTarget } from './capture.js';
import { scrapeInterval } from './discover.js';
import { parsePromResponse } from './parse.js';
import { LATENCY_METRICS, selectorBody } from './queries.js';
import { promDuration } from '../../util/duration.js';
import { fmtDuration } from '../../util/num.js';

/** What to measure: the service, its histogram and the window. */
export interface WindowQuery {
  selector: string;
  /** The latency histogram; default: the first of LATENCY_METRICS with series in the window. */
  latencyMetric?: string;
  /** Unix seconds. */
  start: number;
  end: number;
  quantiles: readonly number[];
}

/** What Prometheus said about the window. */
export interface WindowMeasurement {
  latencyMetric?: string;
  /** Scrape interval of the target, seconds; rolling quantiles use four of them. */
  scrapeInterval: number;
  rollingSeconds: number;
  /** Requests counted by the histogram in the window (Prometheus' `increase`, so extrapolated). */
  requests?: number;
  /** Why nothing could be measured at all (no series, no requests). */
  missing?: string;
  /** One per requested quantile, in order. */
  measurements: Measurement[];
  /** The rolling series of each requested quantile, in order (for finding a spike inside the window). */
  rolling: Array<Array<[number, number]>>;
}

const braces = (body: string, extra?: string) => `{${[body, extra].filter(Boolean).join(',')}}`;

/** The rolling quantile over `rateWindow`; for 0.99 and 0.5 exactly capture's `latency_p99`/`latency_p50` queries. */
export const rollingQuantileQuery = (quantile: number, metric: string, selector: string | undefined, rateWindow: string) =>
  `histogram_quantile(${quantile}, sum by (le) (rate(${metric}_bucket${braces(selectorBody(selector))}[${rateWindow}])))`;

/** The quantile of every request counted in the `range` before the evaluation time. */
export const windowQuantileQuery = (quantile: number, metric: string, selector: string | undefined, range: string) =>
  `histogram_quantile(${quantile}, sum by (le) (increase(${metric}_bucket${braces(selectorBody(selector))}[${range}])))`;

/** Requests in the `range` before the evaluation time: the `+Inf` bucket counts every observation. */
export const windowCountQuery = (metric: string, selector: string | undefined, range: string) =>
  `sum(increase(${metric}_bucket${braces(selectorBody(selector), 'le="+Inf"')}[${range}]))`;

async function instantAt(t: PromTarget, query: string, time: number, signal?: AbortSignal): Promise<number | undefined> {
  const text = await promApi(t, 'query', { query, time: String(time) }, signal);
  // NaN (a quantile of zero requests) is dropped by the parser: it is "no value", not a number.
  return parsePromResponse(text, redactUrl(`${t.url}/api/v1/query`))[0]?.points[0]?.[1];
}

/** Measure each quantile over [start, end]; a source that cannot be reached throws its SleuthError. */
export async function measureWindow(t: PromTarget, q: WindowQuery, signal?: AbortSignal): Promise<WindowMeasurement> {
  const interval = await scrapeInterval(t, q.selector, signal);
  const rollingSeconds = 4 * interval;
  const range = promDuration(q.end - q.start);
  const none = (missing: string): WindowMeasurement => ({ scrapeInterval: interval, rollingSeconds, missing, measurements: q.quantiles.map(() => ({ missing })), rolling: q.quantiles.map(() => []) });

  // The first histogram that counted anything for the selector in the window.
  const candidates = q.latencyMetric ? [q.latencyMetric] : LATENCY_METRICS;
  let metric: string | undefined;
  let requests: number | undefined;
  for (const m of candidates) {
    requests = await instantAt(t, windowCountQuery(m, q.selector, range), q.end, signal);
    if (requests !== undefined) {
      metric = m;
      break;
    }
  }
  if (!metric || requests === undefined) {
    return none(`no series of ${candidates.map((m) => `${m}_bucket`).join(', ')} for ${q.selector} in the window${q.latencyMetric ? '' : ': pass --latency-metric if the service uses another histogram'}`);
  }
  if (!(requests > 0)) return { ...none(`no requests in the window (${metric} counted none for ${q.selector})`), latencyMetric: metric, requests: 0 };

  // Rolling points whose rate window lies inside the evaluated window; at most ~1000 of them.
  const step = Math.max(1, Math.round(interval), Math.ceil((q.end - q.start) / 1000));
  const rollStart = Math.min(q.end, q.start + rollingSeconds);
  const per = await Promise.all(
    q.quantiles.map(async (quantile): Promise<[Measurement, Array<[number, number]>]> => {
      const [windowSeconds, rollingText] = await Promise.all([
        instantAt(t, windowQuantileQuery(quantile, metric, q.selector, range), q.end, signal),
        queryRange(t, rollingQuantileQuery(quantile, metric, q.selector, promDuration(rollingSeconds)), rollStart, q.end, step, signal),
      ]);
      const series = parsePromResponse(rollingText, redactUrl(`${t.url}/api/v1/query_range`));
      const points = (series[0]?.points ?? []).filter(([ts]) => ts >= q.start && ts <= q.end);
      const worst = points.reduce<[number, number] | undefined>((w, p) => (!w || p[1] > w[1] ? p : w), undefined);
      const m: Measurement = { windowSeconds, worstSeconds: worst?.[1], worstAt: worst?.[0] };
      if (windowSeconds === undefined && !worst) m.missing = `the histogram of ${metric} gave no quantile in the window (rolling over ${fmtDuration(rollingSeconds)} nor whole)`;
      return [m, points];
    }),
  );
  return { latencyMetric: metric, scrapeInterval: interval, rollingSeconds, requests, measurements: per.map((p) => p[0]), rolling: per.map((p) => p[1]) };
}
