/**
 * Finding what to ask Prometheus: the target's series (by the port it is scraped on), its latency
 * histogram, and its scrape interval (rate windows must span several scrapes).
 */
import { median } from '../../util/num.js';
import { redactUrl } from '../../util/redact.js';
import { promApi, type PromTarget } from './capture.js';
import { parsePromResponse } from './parse.js';
import { LATENCY_METRICS, selectorBody } from './queries.js';

async function instant(t: PromTarget, query: string, signal?: AbortSignal) {
  const text = await promApi(t, 'query', { query }, signal);
  return parsePromResponse(text, redactUrl(`${t.url}/api/v1/query`));
}

const quote = (v: string) => JSON.stringify(v);

/** A selector for the series scraped from `port` on this machine, e.g. {job="checkout",instance="127.0.0.1:8080"}. */
export async function selectorForPort(t: PromTarget, port: number, signal?: AbortSignal): Promise<string | undefined> {
  const series = await instant(t, `up{instance=~"(127\\\\.0\\\\.0\\\\.1|localhost|\\\\[::1\\\\]|0\\\\.0\\\\.0\\\\.0|.*):${port}"}`, signal);
  const s = series.find((x) => x.labels.instance?.startsWith('127.0.0.1:') || x.labels.instance?.startsWith('localhost:')) ?? series[0];
  if (!s) return undefined;
  const parts = ['job', 'instance'].filter((k) => s.labels[k] !== undefined).map((k) => `${k}=${quote(s.labels[k])}`);
  return `{${parts.join(',')}}`;
}

/** The first of the known latency histograms (or `wanted`) that has series for the selector. */
export async function findLatencyMetric(t: PromTarget, selector: string | undefined, wanted?: string, signal?: AbortSignal): Promise<string | undefined> {
  const body = selectorBody(selector);
  for (const name of wanted ? [wanted] : LATENCY_METRICS) {
    const series = await instant(t, `count(${name}_bucket{${body}})`, signal);
    if (series.some((s) => s.points.some(([, v]) => v > 0))) return name;
  }
  return undefined;
}

/** Median spacing of raw `up` samples, in seconds (15 s, Prometheus' default, when unknown). */
export async function scrapeInterval(t: PromTarget, selector: string | undefined, signal?: AbortSignal): Promise<number> {
  const series = await instant(t, `up{${selectorBody(selector)}}[2m]`, signal);
  const pts = series[0]?.points ?? [];
  const gaps = pts.slice(1).map(([ts], i) => ts - pts[i][0]).filter((g) => g > 0);
  return gaps.length ? median(gaps) : 15;
}

/**
 * The node_exporter series of this machine, for a local target: the only node_exporter instance,
 * or the one scraped on loopback or this host's name. Undefined when none or ambiguous.
 */
export async function localNodeSelector(t: PromTarget, hostnames: string[], signal?: AbortSignal): Promise<{ selector?: string; note?: string }> {
  const series = await instant(t, 'count by (job, instance) (node_cpu_seconds_total{mode="idle"})', signal);
  if (series.length === 0) return { note: 'no node_exporter series (node_cpu_seconds_total) in Prometheus: node-level CPU, PSI and TCP series not collected' };
  const local = (inst: string) => ['127.0.0.1', 'localhost', '[::1]', ...hostnames].some((h) => inst === h || inst.startsWith(`${h}:`));
  const pick = series.length === 1 ? series[0] : series.filter((s) => local(s.labels.instance ?? '')).length === 1 ? series.find((s) => local(s.labels.instance ?? '')) : undefined;
  if (!pick) return { note: `${series.length} node_exporter instances and none clearly this machine: pass --node-selector '{instance="…"}'` };
  const parts = ['job', 'instance'].filter((k) => pick.labels[k] !== undefined).map((k) => `${k}=${quote(pick.labels[k])}`);
  return { selector: `{${parts.join(',')}}` };
}

/**
 * A pod's series, by the `namespace` and `pod` labels that Kubernetes service discovery (and the
 * Prometheus Operator's relabelling) put on them; undefined when Prometheus has none.
 */
export async function selectorForPod(t: PromTarget, namespace: string, pod: string, signal?: AbortSignal): Promise<string | undefined> {
  const sel = `{namespace=${quote(namespace)},pod=${quote(pod)}}`;
  const series = await instant(t, `count(up${sel})`, signal);
  return series.length ? sel : undefined;
}

/** Each pod's P99 over the last `window`, where its latency histogram carries a `pod` label. */
export async function p99ByPod(t: PromTarget, namespace: string, pods: string[], wanted: string | undefined, window: string, signal?: AbortSignal): Promise<Map<string, number>> {
  // Pod names are validated Kubernetes names: letters, digits, '-' and '.', of which only '.' needs escaping.
  const sel = `{namespace=${quote(namespace)},pod=~${quote(pods.map((p) => p.replace(/\./g, '\\.')).join('|'))}}`;
  const metric = await findLatencyMetric(t, sel, wanted, signal);
  const out = new Map<string, number>();
  if (!metric) return out;
  const series = await instant(t, `histogram_quantile(0.99, sum by (pod, le) (rate(${metric}_bucket${sel}[${window}])))`, signal);
  for (const s of series) {
    const v = s.points[s.points.length - 1]?.[1];
    if (s.labels.pod && v !== undefined && Number.isFinite(v)) out.set(s.labels.pod, v);
  }
  return out;
}
