/**
 * Measuring SLO quantiles from a bundle's Prometheus series, for `check --bundle`. A bundle keeps the
 * rolling quantile series only (not the histogram), so only the worst rolling value can be measured,
 * and only for the quantiles captured (P99 and P50). Pure.
 */
import type { Evidence } from '../evidence/model.js';
import type { MetricKey } from '../sources/prometheus/queries.js';
import type { Measurement, Objective } from './slo.js';

const KEY_OF_QUANTILE: Record<string, MetricKey> = { '0.99': 'latency_p99', '0.5': 'latency_p50' };

/** What a bundle says about the window. */
export interface BundleMeasurement {
  /** Requests in the window, integrated from the request-rate series (when captured). */
  requests?: number;
  /** The rate window of the rolling series, seconds, as captured. */
  rollingSeconds?: number;
  /** Why nothing could be measured at all. */
  missing?: string;
  measurements: Measurement[];
}

const iso = (t: number) => new Date(t * 1000).toISOString();

/** Worst rolling value of each objective's quantile in [start, end] (unix seconds). */
export function measureBundle(ev: Evidence, objectives: readonly Objective[], start: number, end: number): BundleMeasurement {
  const none = (missing: string): BundleMeasurement => ({ missing, measurements: objectives.map(() => ({ missing })) });
  const prom = ev.manifest.collectors.find((c) => c.name === 'prometheus');
  if (!ev.metrics.latency_p99 && !ev.metrics.latency_p50) {
    const why = !prom ? 'no prometheus collector' : prom.status !== 'ok' ? `prometheus ${prom.status}${prom.message ? `: ${prom.message}` : ''}` : 'no latency histogram was captured';
    return none(`the bundle has no latency series (${why})`);
  }
  const inWindow = (pts: Array<[number, number]>) => pts.filter(([t]) => t >= start && t <= end);

  let requests: number | undefined;
  const rate = ev.metrics.request_rate && inWindow(ev.metrics.request_rate.points);
  if (rate) {
    // Each point stands for one step of the range query: requests ≈ Σ rate × step.
    const step = Number(prom?.meta?.step) > 0 ? Number(prom?.meta?.step) : 1;
    requests = rate.reduce((n, [, v]) => n + v * step, 0);
    if (!(requests > 0)) return { ...none(`no requests between ${iso(start)} and ${iso(end)} in the bundle's request-rate series`), requests: 0 };
  }
  const rollingMatch = /\[(\d+)s\]/.exec(ev.metrics.latency_p99?.query ?? ev.metrics.latency_p50?.query ?? '');

  const measurements = objectives.map((o): Measurement => {
    const key = KEY_OF_QUANTILE[String(o.quantile)];
    const series = key ? ev.metrics[key] : undefined;
    if (!key) return { missing: `a bundle holds rolling P99 and P50 series only, not ${o.label}` };
    if (!series) return { missing: `the bundle has no ${key} series` };
    const pts = inWindow(series.points);
    if (pts.length === 0) return { missing: `the bundle's ${key} series has no points between ${iso(start)} and ${iso(end)}` };
    const [worstAt, worstSeconds] = pts.reduce((w, p) => (p[1] > w[1] ? p : w));
    return { worstSeconds, worstAt };
  });
  return { requests, rollingSeconds: rollingMatch ? Number(rollingMatch[1]) : undefined, measurements };
}

/** The bundle's own span: from the earliest window's start to the spike's end, unix seconds. */
export function bundleSpan(ev: Evidence): { start: number; end: number } {
  return { start: ev.baseline ? Math.min(ev.baseline.start, ev.spike.start) : ev.spike.start, end: Math.max(ev.spike.end, ev.baseline?.end ?? -Infinity) };
}
