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
  | 'gc_pause_p99'
  | NodeMetricKey
  | ContainerMetricKey;

/** Series of the target's node (node_exporter), asked for only when the node's selector is known. */
export type NodeMetricKey =
  | 'node_cpus'
  | 'node_cpu_busy'
  | 'node_steal'
  | 'node_irq'
  | 'node_softirq'
  | 'node_iowait'
  | 'node_psi_cpu'
  | 'node_psi_io'
  | 'node_psi_memory'
  | 'node_retrans'
  | 'node_out_segs'
  | 'node_tcp_timeouts'
  | 'node_listen_overflows'
  | 'node_listen_drops'
  | 'node_softnet_squeezed'
  | 'node_softnet_dropped';

/** Series of the target's container (cAdvisor, through the kubelet), when its selector is known. */
export type ContainerMetricKey = 'container_throttled_frac' | 'container_throttled_seconds' | 'container_cpu_cores';

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

/** Where the target's node and container series are, when known (label matcher lists like selectors). */
export interface ScopeSelectors {
  node?: string;
  container?: string;
}

/** Queries for the node's and the container's kernel-level series. */
export function buildScopeQueries(scope: ScopeSelectors, rateWindow: string): Partial<Record<NodeMetricKey | ContainerMetricKey, string>> {
  const out: Partial<Record<NodeMetricKey | ContainerMetricKey, string>> = {};
  if (scope.node !== undefined) {
    const n = selectorBody(scope.node);
    const r = (metric: string, extra?: string) => `sum(rate(${metric}${sel(n, extra)}[${rateWindow}]))`;
    const mode = (m: string) => r('node_cpu_seconds_total', `mode="${m}"`);
    Object.assign(out, {
      node_cpus: `count(node_cpu_seconds_total${sel(n, 'mode="idle"')})`,
      node_cpu_busy: r('node_cpu_seconds_total', 'mode!~"idle|iowait|steal"'),
      node_steal: mode('steal'),
      node_irq: mode('irq'),
      node_softirq: mode('softirq'),
      node_iowait: mode('iowait'),
      // PSI "some": the share of time at least one task stalled on the resource.
      node_psi_cpu: r('node_pressure_cpu_waiting_seconds_total'),
      node_psi_io: r('node_pressure_io_waiting_seconds_total'),
      node_psi_memory: r('node_pressure_memory_waiting_seconds_total'),
      node_retrans: r('node_netstat_Tcp_RetransSegs'),
      node_out_segs: r('node_netstat_Tcp_OutSegs'),
      node_tcp_timeouts: r('node_netstat_TcpExt_TCPTimeouts'),
      node_listen_overflows: r('node_netstat_TcpExt_ListenOverflows'),
      node_listen_drops: r('node_netstat_TcpExt_ListenDrops'),
      node_softnet_squeezed: r('node_softnet_times_squeezed_total'),
      node_softnet_dropped: r('node_softnet_dropped_total'),
    } satisfies Record<NodeMetricKey, string>);
  }
  if (scope.container !== undefined) {
    const c = selectorBody(scope.container);
    const r = (metric: string) => `sum(rate(${metric}${sel(c)}[${rateWindow}]))`;
    Object.assign(out, {
      container_throttled_frac: `${r('container_cpu_cfs_throttled_periods_total')} / ${r('container_cpu_cfs_periods_total')}`,
      container_throttled_seconds: r('container_cpu_cfs_throttled_seconds_total'),
      container_cpu_cores: r('container_cpu_usage_seconds_total'),
    } satisfies Record<ContainerMetricKey, string>);
  }
  return out;
}

/** All queries for a selector, latency metric and rate window (e.g. `1m`). */
export function buildQueries(selector: string | undefined, latencyMetric: string, rateWindow: string): Record<Exclude<MetricKey, NodeMetricKey | ContainerMetricKey>, string> {
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
