/**
 * Where watch reads the current P99: Prometheus (an instant histogram_quantile over a rate window) or,
 * without one, the service's own /metrics read twice (the quantile of the bucket increases between
 * two polls, i.e. of exactly the requests served in the interval).
 */
import { SleuthError } from '../errors.js';
import { fetchMetrics } from '../sources/metrics/capture.js';
import { histogramNames, parseHistogram, type Bucket } from '../sources/metrics/parse.js';
import { bucketIncrease, histogramQuantile } from '../sources/metrics/quantile.js';
import { promApi, type PromTarget } from '../sources/prometheus/capture.js';
import { findLatencyMetric } from '../sources/prometheus/discover.js';
import { parsePromResponse } from '../sources/prometheus/parse.js';
import { LATENCY_METRICS, selectorBody } from '../sources/prometheus/queries.js';
import { redactUrl } from '../util/redact.js';

/** One P99 reading per call; undefined when no request was served in the interval. */
export interface P99Poller {
  /** For the start line, e.g. `http://127.0.0.1:8080/metrics`. */
  source: string;
  poll(signal: AbortSignal): Promise<number | undefined>;
}

/** The PromQL of watch's P99. */
export const p99Query = (metric: string, selector: string | undefined, rateWindow: string) =>
  `histogram_quantile(0.99, sum by (le) (rate(${metric}_bucket{${selectorBody(selector)}}[${rateWindow}])))`;

export function prometheusPoller(prom: PromTarget, selector: string | undefined, wanted: string | undefined, rateWindow: string): P99Poller {
  let metric: string | undefined;
  return {
    source: `Prometheus ${redactUrl(prom.url)}${selector ? ` ${selector}` : ''}`,
    async poll(signal) {
      metric ??= await findLatencyMetric(prom, selector, wanted, signal);
      if (!metric) {
        throw new SleuthError('unavailable', `no series of ${wanted ?? LATENCY_METRICS.join(', ')} (_bucket) for ${selector ?? 'any selector'} in Prometheus`, 'pass --selector and --latency-metric');
      }
      const text = await promApi(prom, 'query', { query: p99Query(metric, selector, rateWindow), time: String(Date.now() / 1000) }, signal);
      const values = parsePromResponse(text, redactUrl(`${prom.url}/api/v1/query`)).flatMap((s) => s.points.map(([, v]) => v));
      return values.length ? Math.max(...values) : undefined;
    },
  };
}

/** Pick the latency histogram in a /metrics page: `wanted`, else the first known name it declares. */
export function chooseHistogram(text: string, wanted?: string): string | undefined {
  const declared = histogramNames(text);
  if (wanted) return declared.includes(wanted) || text.includes(`${wanted}_bucket`) ? wanted : undefined;
  return LATENCY_METRICS.find((m) => declared.includes(m));
}

export function metricsPoller(url: string, wanted: string | undefined): P99Poller {
  let prev: Bucket[] | undefined;
  let metric: string | undefined;
  return {
    source: redactUrl(url),
    async poll(signal) {
      const text = await fetchMetrics(url, signal);
      metric ??= chooseHistogram(text, wanted);
      if (!metric) throw new SleuthError('unavailable', `${redactUrl(url)}: no latency histogram (${wanted ?? LATENCY_METRICS.join(', ')})`, 'pass --latency-metric, or --metrics with the right URL');
      const h = parseHistogram(text, metric, redactUrl(url));
      if (!h) throw new SleuthError('unavailable', `${redactUrl(url)}: no ${metric}_bucket samples`, 'has the service served a request yet?');
      const increase = bucketIncrease(prev, h.buckets);
      const first = prev === undefined;
      prev = h.buckets;
      // The first reading is a baseline for the counters: it has no interval of its own.
      return first ? undefined : histogramQuantile(0.99, increase);
    },
  };
}

/**
 * A poller for a set of pods that changes (a label selector's pods come and go): the set is listed
 * again every `everyPolls` polls and the inner poller rebuilt when it changed. A failed listing keeps
 * the last set: P99 is still worth reading, and the next listing may succeed.
 */
export function followingPoller(list: (signal: AbortSignal) => Promise<string[]>, first: string[], make: (names: string[]) => P99Poller, everyPolls = 10): P99Poller {
  let names = [...first].sort();
  let inner = make(names);
  let polls = 0;
  return {
    source: inner.source,
    async poll(signal) {
      if (++polls % everyPolls === 0) {
        const now = await list(signal).then((n) => [...n].sort(), () => names);
        if (now.length && now.join('\n') !== names.join('\n')) {
          names = now;
          inner = make(names);
        }
      }
      return inner.poll(signal);
    },
  };
}
