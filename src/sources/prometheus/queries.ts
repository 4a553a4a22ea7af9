/**
 * The PromQL we ask for, by stable key. Capture stores each response under its key; analysis reads
 * them back by key. Only client_golang defaults are required; the rest is used when it exists.
 */
import { usageError } from '../../errors.js';

export type MetricKey =
  | 'latency_p99'
  | 'latency_p50'
  | 'latency_inflight'
  | 'request_rate'
  | 'gc_rate'
  | 'gc_pause_frac'
  | 'gc_pause_max'
  | 'alloc_rate'
  | 'heap_inuse'
  | 'goroutines'
  | 'threads'
  | 'cpu_cores'
  | 'gomaxprocs'
  | 'sched_latency_p99'
  | 'mutex_wait_rate'
  | 'gc_pause_p99';

/** Default latency histograms, most specific first (client_golang, OpenTelemetry, go-grpc-prometheus). */
export const LATENCY_METRICS = ['http_request_duration_seconds', 'http_server_request_duration_seconds', 'grpc_server_handling_seconds'];

/** `{job="x",pod=~"y"}` → `job="x",pod=~"y"`; rejects anything that is not a plain label matcher list. */
export function selectorBody(selector: string | undefined): string {
  if (!selector || selector.trim() === '' || selector.trim() === '{}') return '';
  const s = selector.trim();
  const m = /^\{(.*)\}$/s.exec(s);
  const matcher = /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$/;
  if (!m || !m[1].split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/).every((part) => part.trim() === '' || matcher.test(part))) {
    throw usageError(`invalid selector ${JSON.stringify(selector)}`, 'use PromQL label matchers, e.g. --selector \'{job="checkout",namespace="shop"}\'');
  }
  return m[1].trim().replace(/,\s*$/, '');
}

const sel = (body: string, extra?: string) => `{${[body, extra].filter(Boolean).join(',')}}`;

/** All queries for a selector, latency metric and rate window (e.g. `1m`). */
export function buildQueries(selector: string | undefined, latencyMetric: string, rateWindow: string): Record<MetricKey, string> {
  const b = selectorBody(selector);
  const s = sel(b);
  const L = latencyMetric;
  const q = (quantile: number, metric: string) =>
    `histogram_quantile(${quantile}, sum by (le) (rate(${metric}_bucket${s}[${rateWindow}])))`;
  return {
    latency_p99: q(0.99, L),
    latency_p50: q(0.5, L),
    // Little's law: latency-seconds accrued per second = mean number of requests in flight.
    latency_inflight: `sum(rate(${L}_sum${s}[${rateWindow}]))`,
    request_rate: `sum(rate(${L}_count${s}[${rateWindow}]))`,
    gc_rate: `sum(rate(go_gc_duration_seconds_count${s}[${rateWindow}]))`,
    gc_pause_frac: `sum(rate(go_gc_duration_seconds_sum${s}[${rateWindow}]))`,
    gc_pause_max: `max(go_gc_duration_seconds${sel(b, 'quantile="1"')})`,
    alloc_rate: `sum(rate(go_memstats_alloc_bytes_total${s}[${rateWindow}]))`,
    heap_inuse: `sum(go_memstats_heap_inuse_bytes${s})`,
    goroutines: `sum(go_goroutines${s})`,
    threads: `sum(go_threads${s})`,
    cpu_cores: `sum(rate(process_cpu_seconds_total${s}[${rateWindow}]))`,
    gomaxprocs: `max(go_sched_gomaxprocs_threads${s})`,
    sched_latency_p99: q(0.99, 'go_sched_latencies_seconds'),
    mutex_wait_rate: `sum(rate(go_sync_mutex_wait_total_seconds_total${s}[${rateWindow}]))`,
    gc_pause_p99: q(0.99, 'go_gc_pauses_seconds'),
  };
}
