/**
 * The `prometheus` collector of a bundle: every latency, Go runtime, process and node series of one
 * service over a span of time, as raw range-query answers. Shared by `investigate` (around the spike
 * it found) and `check` (the evaluated window); rate windows span four scrape intervals.
 */
import type { BundleWriter } from '../evidence/bundle.js';
import type { CollectorHooks } from '../sources/pprof/capture.js';
import { capturePrometheus, type PromTarget } from '../sources/prometheus/capture.js';
import { buildQueries, buildScopeQueries, type MetricKey } from '../sources/prometheus/queries.js';
import { promDuration } from '../util/duration.js';

/** The service's series and the span to capture. */
export interface PromWindowOptions {
  selector: string;
  /** This machine's (or the service's node's) node_exporter series, when known. */
  nodeSelector?: string;
  /** The service's container series (cAdvisor), when known. */
  containerSelector?: string;
  /** Without a latency histogram the Go runtime and process series are still worth having. */
  latencyMetric?: string;
  /** Scrape interval of the target, seconds. */
  scrapeInterval: number;
  /** Unix seconds; the capture starts one rate window earlier so that the first rate covers `start`. */
  start: number;
  end: number;
  /** Added to the collector's meta (the spike found, notes, …). */
  meta?: Record<string, unknown>;
}

const LATENCY_KEYS = ['latency_p99', 'latency_p50', 'latency_inflight', 'request_rate'] as const;

/** Record one `prometheus` collector in `writer` with every series of the service over [start, end]. */
export async function capturePrometheusWindow(t: PromTarget, o: PromWindowOptions, writer: BundleWriter, signal?: AbortSignal, hooks?: CollectorHooks): Promise<void> {
  const rateWindow = 4 * o.scrapeInterval;
  const queries: Partial<Record<MetricKey, string>> = {
    ...buildQueries(o.selector, o.latencyMetric ?? 'none', promDuration(rateWindow)),
    ...buildScopeQueries({ node: o.nodeSelector, container: o.containerSelector }, promDuration(rateWindow)),
  };
  if (!o.latencyMetric) for (const k of LATENCY_KEYS) delete queries[k];
  const start = Math.floor(o.start - rateWindow);
  const end = Math.ceil(o.end);
  // Prometheus refuses more than 11,000 points per series: a long span gets a coarser step.
  const step = Math.max(1, Math.round(o.scrapeInterval), Math.ceil((end - start) / 10_000));
  await capturePrometheus(t, queries, { start, end, step }, writer, signal, {
    hooks,
    meta: { selector: o.selector, nodeSelector: o.nodeSelector, containerSelector: o.containerSelector, latencyMetric: o.latencyMetric, scrapeInterval: o.scrapeInterval, ...o.meta },
  });
}
