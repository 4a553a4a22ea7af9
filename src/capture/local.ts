/**
 * `investigate --local`: find the spike in Prometheus, capture Go evidence from the process while it
 * happens (all collectors concurrently), and write a bundle. Analysis is then exactly `analyze`'s.
 * Each source failing only marks its collectors failed; the investigation goes on with the rest.
 */
import os from 'node:os';
import { BundleWriter } from '../evidence/bundle.js';
import type { CollectorEntry, TimeWindow } from '../evidence/manifest.js';
import type { ProfileKind } from '../evidence/model.js';
import { SleuthError, describe } from '../errors.js';
import { localReader } from '../sources/procfs/capture.js';
import type { ScriptName } from '../sources/bpftrace/scripts.js';
import { captureBpf, captureProcfs } from './kernel.js';
import { capturePprofWindow, type CollectorHooks, type PprofTarget } from '../sources/pprof/capture.js';
import { capturePrometheus, queryRange, type PromTarget } from '../sources/prometheus/capture.js';
import { findLatencyMetric, localNodeSelector, scrapeInterval, selectorForPort } from '../sources/prometheus/discover.js';
import { parsePromResponse, combine } from '../sources/prometheus/parse.js';
import { buildQueries, buildScopeQueries, type MetricKey } from '../sources/prometheus/queries.js';
import { findSpikes, type SpikeAnalysis } from '../sources/prometheus/spike.js';
import { findPprof, inspectProcess, notFoundPprof, type LocalProcess } from '../target/local.js';
import type { Progress } from '../ui/progress.js';
import { promDuration } from '../util/duration.js';
import { fmtDuration, fmtNum } from '../util/num.js';
import { redactUrl } from '../util/redact.js';

export interface LocalOptions {
  pid: number;
  pprof?: PprofTarget;
  prometheus?: PromTarget;
  selector?: string;
  /** The node_exporter series of this machine (default: discovered). */
  nodeSelector?: string;
  latencyMetric?: string;
  sinceSeconds: number;
  durationSeconds: number;
  out?: string;
  kinds: ProfileKind[];
  /** bpftrace scripts to run (none with --no-bpf). */
  bpfScripts: ScriptName[];
  bpftrace?: string;
}

export interface CaptureResult {
  dir: string;
  interrupted: boolean;
}

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const now = () => Date.now() / 1000;

export async function captureLocal(o: LocalOptions, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  const proc = await inspectProcess(o.pid);
  const out = o.out ?? `p99sleuth-${proc.comm.replace(/[^\w.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}`;
  const writer = await BundleWriter.create(out);
  const started = now();
  try {
    return await captureInto(writer, proc, o, progress, signal);
  } catch (err) {
    // Nothing is lost: whatever was captured before the failure is kept as a marked, partial bundle.
    const dir = await writer
      .finish({ complete: false, incompleteReason: `capture failed: ${describe(err)}`, target: { kind: 'local', description: `pid ${proc.pid} (${proc.comm})`, pid: proc.pid }, windows: { spike: { start: iso(started), end: iso(now()) } } })
      .catch(() => undefined);
    if (dir && err instanceof SleuthError) err.hint = `${err.hint ? `${err.hint}; ` : ''}the partial bundle is kept in ${dir}`;
    throw err;
  }
}

async function captureInto(writer: BundleWriter, proc: LocalProcess, o: LocalOptions, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  const hooks: CollectorHooks = { start: (n) => progress.start(n), done: (e) => progress.done(`${e.name}${e.window ? ` (${e.window})` : ''}`, e.status, e.message) };

  // Where the profiles come from.
  let pprof = o.pprof;
  if (!pprof) {
    const found = await findPprof(proc.listenPorts, signal);
    if (found) {
      pprof = { baseUrl: found };
      progress.note(`pprof endpoint: ${found}`);
    }
  }

  // Prometheus: the target's series, its latency histogram, the spike and a calm baseline.
  let selector = o.selector;
  let nodeSelector = o.nodeSelector;
  let latencyMetric: string | undefined;
  let interval = 15;
  let spike: SpikeAnalysis | undefined;
  const promNotes: string[] = [];
  let promDown = false;
  if (o.prometheus) {
    try {
      if (!selector && pprof) {
        const port = Number(new URL(pprof.baseUrl).port);
        if (port) selector = await selectorForPort(o.prometheus, port, signal);
        if (selector) progress.note(`Prometheus series: ${selector}`);
        else promNotes.push(`no Prometheus target scrapes port ${port}: pass --selector`);
      }
      if (!nodeSelector) {
        const found = await localNodeSelector(o.prometheus, [os.hostname()], signal);
        nodeSelector = found.selector;
        if (found.note) promNotes.push(found.note);
        else progress.note(`node series: ${nodeSelector}`);
      }
      if (selector) {
        interval = await scrapeInterval(o.prometheus, selector, signal);
        latencyMetric = await findLatencyMetric(o.prometheus, selector, o.latencyMetric, signal);
        if (!latencyMetric) promNotes.push(o.latencyMetric ? `no series of ${o.latencyMetric}_bucket for ${selector}` : `no latency histogram (${'http_request_duration_seconds, …'}) for ${selector}: pass --latency-metric`);
        else {
          const end = now();
          const step = Math.max(1, Math.ceil(o.sinceSeconds / 600), Math.round(interval));
          const q = buildQueries(selector, latencyMetric, promDuration(4 * interval)).latency_p99;
          const series = parsePromResponse(await queryRange(o.prometheus, q, end - o.sinceSeconds, end, step, signal), 'latency');
          spike = findSpikes(combine(series));
          if (spike?.chosen) {
            progress.note(`P99 spike: ${fmtDuration(spike.chosen.peak)} at peak vs ${fmtDuration(spike.baselineP99)} typical, ${spike.ongoing ? 'ongoing' : `ended ${iso(spike.chosen.end)}`}`);
            if (!spike.ongoing) promNotes.push(`the spike ended at ${iso(spike.chosen.end)}: profiles taken now describe the present, not the spike`);
          } else if (spike) progress.note(`no P99 spike in the last ${fmtNum(o.sinceSeconds / 60)} min (typical P99 ${fmtDuration(spike.baselineP99)})`);
        }
      }
    } catch (err) {
      if (err instanceof SleuthError && err.kind === 'interrupted') throw err;
      promNotes.push(describe(err));
      // Unreachable or too slow: asking again for every series would only wait the timeout again.
      promDown = err instanceof SleuthError && err.kind === 'unavailable';
      if (err instanceof SleuthError && err.kind === 'usage') throw err;
    }
  }

  // Profiles and kernel evidence of the present, all concurrently; their window is the spike when it is ongoing.
  const captureStart = now();
  const kinds = o.kinds;
  const profiles = async () => {
    if (pprof) return capturePprofWindow(pprof, { window: 'spike', seconds: o.durationSeconds, goroutineSnapshots: 10, kinds }, writer, signal, hooks);
    const err = notFoundPprof(proc);
    for (const kind of kinds) {
      const e: CollectorEntry = { name: `pprof.${kind}`, window: 'spike', status: 'failed', message: `${err.message} — ${err.hint}`, artifacts: [] };
      writer.record(e);
      hooks.done?.(e);
    }
  };
  await Promise.all([
    profiles(),
    captureProcfs({ pid: proc.pid, seconds: o.durationSeconds, reader: localReader() }, writer, signal, hooks),
    o.bpfScripts.length ? captureBpf({ pid: proc.pid, seconds: o.durationSeconds, scripts: o.bpfScripts, bpftrace: o.bpftrace }, writer, signal, hooks) : undefined,
  ]);
  if (!o.bpfScripts.length) writer.record({ name: 'bpftrace', status: 'not-enabled', message: '--no-bpf: kernel tracing not run', artifacts: [] });
  const captureEnd = now();
  const interrupted = signal.aborted;

  const windows: { baseline?: TimeWindow; spike: TimeWindow } = {
    spike: { start: iso(spike?.ongoing && spike.chosen ? Math.min(spike.chosen.start, captureStart) : captureStart), end: iso(captureEnd) },
  };
  if (spike?.baseline) windows.baseline = { start: iso(spike.baseline.start), end: iso(spike.baseline.end) };
  else if (o.prometheus && selector) {
    // No spike found: compare with the earlier part of the range.
    windows.baseline = { start: iso(captureStart - o.sinceSeconds), end: iso(captureStart - Math.min(o.sinceSeconds / 2, 300)) };
  }

  if (o.prometheus && selector && !interrupted && !promDown) {
    const from = Date.parse((windows.baseline ?? windows.spike).start) / 1000;
    const rateWindow = 4 * interval;
    const queries: Partial<Record<MetricKey, string>> = { ...buildQueries(selector, latencyMetric ?? 'none', promDuration(rateWindow)), ...buildScopeQueries({ node: nodeSelector }, promDuration(rateWindow)) };
    // Without a latency histogram the Go runtime and process series are still worth having.
    if (!latencyMetric) for (const k of ['latency_p99', 'latency_p50', 'latency_inflight', 'request_rate'] as const) delete queries[k];
    await capturePrometheus(o.prometheus, queries, { start: Math.floor(from - rateWindow), end: Math.ceil(now()), step: Math.max(1, Math.round(interval)) }, writer, signal, {
      hooks,
      meta: { selector, nodeSelector, latencyMetric, scrapeInterval: interval, spike, notes: promNotes },
    });
  } else if (o.prometheus) {
    const e: CollectorEntry = { name: 'prometheus', status: interrupted ? 'skipped' : 'failed', message: interrupted ? 'interrupted' : promNotes.join('; ') || 'no selector', artifacts: [] };
    writer.record(e);
    hooks.done?.(e);
  } else {
    writer.record({ name: 'prometheus', status: 'not-enabled', message: 'no --prometheus: latency and Go runtime series not collected', artifacts: [] });
  }
  for (const n of promNotes) progress.note(n);

  const dir = await writer.finish({
    complete: !interrupted,
    incompleteReason: interrupted ? 'interrupted (SIGINT/SIGTERM)' : undefined,
    target: {
      kind: 'local',
      description: `pid ${proc.pid} (${proc.comm})`,
      pid: proc.pid,
      pprofUrl: pprof ? redactUrl(pprof.baseUrl) : undefined,
      prometheusUrl: o.prometheus ? redactUrl(o.prometheus.url) : undefined,
      selector,
      latencyMetric,
      ports: proc.listenPorts,
    },
    windows,
  });
  return { dir, interrupted };
}
