/**
 * The capture engine shared by every kind of target (a local process, a Kubernetes pod): find the
 * spike in Prometheus, capture profiles and kernel evidence concurrently while it happens, fetch the
 * Prometheus series of the spike and a calm baseline, and write one bundle. What differs between
 * targets — how pprof is reached, how files on the target's machine are read, how bpftrace is
 * started, which Prometheus series are the target's — comes in as a CaptureTarget.
 * Each source failing only marks its collectors failed; the investigation goes on with the rest.
 */
import { BundleWriter } from '../evidence/bundle.js';
import type { CollectorEntry, TargetDescription, TimeWindow } from '../evidence/manifest.js';
import type { ProfileKind } from '../evidence/model.js';
import { SleuthError, describe } from '../errors.js';
import type { BpftraceCommand } from '../sources/bpftrace/run.js';
import type { ScriptName } from '../sources/bpftrace/scripts.js';
import { capturePprofWindow, type CollectorHooks, type PprofTarget } from '../sources/pprof/capture.js';
import type { FileReader, ProcfsOptions } from '../sources/procfs/capture.js';
import { captureStoredProfiles, type ProfileStore } from '../sources/profilestore/index.js';
import { queryRange, type PromTarget } from '../sources/prometheus/capture.js';
import { findLatencyMetric, localNodeSelector, scrapeInterval } from '../sources/prometheus/discover.js';
import { combine, parsePromResponse } from '../sources/prometheus/parse.js';
import { buildQueries } from '../sources/prometheus/queries.js';
import { findSpikes, type SpikeAnalysis } from '../sources/prometheus/spike.js';
import type { Progress } from '../ui/progress.js';
import { promDuration } from '../util/duration.js';
import { fmtDuration, fmtNum } from '../util/num.js';
import { redactUrl } from '../util/redact.js';
import { captureBpf, captureProcfs } from './kernel.js';
import { capturePrometheusWindow } from './prometheus-window.js';

/** One target, as the engine needs it. */
export interface CaptureTarget {
  /** The manifest's description of the target (kind, description, pid, ports, platform facts). */
  description: TargetDescription;
  /** Its process as the kernel evidence sees it (a host PID for a pod). */
  pid?: number;
  pprof?: PprofTarget;
  /** Why there is no pprof endpoint, when there is none. */
  pprofMissing: () => SleuthError;
  /** For a forwarded endpoint: why the forward broke, if it did (added to failed pprof collectors). */
  pprofBroken?: () => string | undefined;
  /** Files on the target's machine; undefined when they cannot be read (procfs is then not collected). */
  reader?: FileReader;
  procfsOptions?: ProcfsOptions;
  /** Why kernel evidence cannot be collected, when reader/pid are missing. */
  kernelMissing?: string;
  bpftrace: { command?: BpftraceCommand; bpftrace?: string };
  /** The target's own Prometheus series when the user gave no --selector. */
  findSelector(prom: PromTarget, signal: AbortSignal): Promise<{ selector?: string; note?: string }>;
  /** Names the node answers to (hostname, node name, IPs): finds its node_exporter. */
  nodeNames: string[];
  /** cAdvisor's matchers for the target's container, e.g. {namespace="shop",pod="…",container="app"}. */
  containerSelector?: string;
}

export interface CaptureOptions {
  prometheus?: PromTarget;
  selector?: string;
  /** The node_exporter series of the target's node (default: discovered). */
  nodeSelector?: string;
  latencyMetric?: string;
  sinceSeconds: number;
  durationSeconds: number;
  kinds: ProfileKind[];
  /** bpftrace scripts to run (none with --no-bpf). */
  bpfScripts: ScriptName[];
  /** Why bpftrace is not run, when bpfScripts is empty. */
  bpfOffReason?: string;
  /** Parca or Pyroscope: baseline profiles, and the spike's own when it has already passed. */
  profileStore?: { store: ProfileStore; selector: string };
}

export interface CaptureResult {
  dir: string;
  interrupted: boolean;
}

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const now = () => Date.now() / 1000;

/** A default bundle directory name: p99sleuth-<name>-<UTC time>. */
export const defaultOut = (name: string) => `p99sleuth-${name.replace(/[^\w.-]/g, '_')}-${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}`;

/** Capture into a new bundle at `out`; on failure the partial bundle is kept, marked, and named in the error. */
export async function captureTarget(t: CaptureTarget, o: CaptureOptions, out: string, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  const writer = await BundleWriter.create(out);
  const started = now();
  try {
    return await captureInto(writer, t, o, progress, signal);
  } catch (err) {
    // Nothing is lost: whatever was captured before the failure is kept as a marked, partial bundle.
    let kept: string;
    try {
      kept = `the partial bundle is kept in ${await writer.finish({ complete: false, incompleteReason: `capture failed: ${describe(err)}`, target: t.description, windows: { spike: { start: iso(started), end: iso(now()) } } })}`;
    } catch (finishErr) {
      kept = `the files captured so far are kept in ${await writer.keepWithoutManifest()}, without a manifest (${describe(finishErr)})`;
    }
    if (err instanceof SleuthError) err.hint = `${err.hint ? `${err.hint}; ` : ''}${kept}`;
    throw err;
  }
}

function failAll(writer: BundleWriter, hooks: CollectorHooks, names: string[], message: string, window?: 'spike'): void {
  for (const name of names) {
    const e: CollectorEntry = { name, window, status: 'failed', message, artifacts: [] };
    writer.record(e);
    hooks.done?.(e);
  }
}

async function captureInto(writer: BundleWriter, t: CaptureTarget, o: CaptureOptions, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  const hooks: CollectorHooks = { start: (n) => progress.start(n), done: (e) => progress.done(`${e.name}${e.window ? ` (${e.window})` : ''}`, e.status, e.message) };
  const pprof = t.pprof;

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
      if (!selector) {
        const found = await t.findSelector(o.prometheus, signal);
        selector = found.selector;
        if (selector) progress.note(`Prometheus series: ${selector}`);
        if (found.note) promNotes.push(found.note);
      }
      if (!nodeSelector) {
        const found = await localNodeSelector(o.prometheus, t.nodeNames, signal);
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

  // A spike that has passed cannot be captured live; with a profile store its profiles come from
  // there, and evidence of the present (live profiles, kernel counters) would only mislead.
  const past = o.profileStore && spike?.chosen && !spike.ongoing ? spike.chosen : undefined;
  const captureStart = now();
  if (past) {
    const why = `the spike ended at ${iso(past.end)}: its profiles come from ${o.profileStore!.store.shown}; kernel evidence of the present would not describe it`;
    const skipped = ['procfs', ...o.bpfScripts.map((b) => `bpftrace.${b}`)];
    for (const name of skipped) {
      const e: CollectorEntry = { name, window: 'spike', status: 'skipped', message: why, artifacts: [] };
      writer.record(e);
      hooks.done?.(e);
    }
  } else await captureLive(writer, t, o, hooks, signal);
  const captureEnd = now();
  const interrupted = signal.aborted;

  const windows: { baseline?: TimeWindow; spike: TimeWindow } = {
    spike: past
      ? { start: iso(past.start), end: iso(past.end) }
      : { start: iso(spike?.ongoing && spike.chosen ? Math.min(spike.chosen.start, captureStart) : captureStart), end: iso(captureEnd) },
  };
  if (spike?.baseline) windows.baseline = { start: iso(spike.baseline.start), end: iso(spike.baseline.end) };
  else if (o.prometheus && selector) {
    // No spike found: compare with the earlier part of the range.
    windows.baseline = { start: iso(captureStart - o.sinceSeconds), end: iso(captureStart - Math.min(o.sinceSeconds / 2, 300)) };
  }

  const stored = o.profileStore && !interrupted
    ? captureStoredProfiles(o.profileStore.store, { selector: o.profileStore.selector, windows: { spike: past ? windows.spike : undefined, baseline: windows.baseline }, kinds: o.kinds }, writer, signal, hooks).then(() => undefined, (err: unknown) => err)
    : undefined;
  if (o.prometheus && selector && !interrupted && !promDown) {
    const from = Date.parse((windows.baseline ?? windows.spike).start) / 1000;
    await capturePrometheusWindow(
      o.prometheus,
      { selector, nodeSelector, containerSelector: t.containerSelector, latencyMetric, scrapeInterval: interval, start: from, end: now(), meta: { spike, notes: promNotes } },
      writer,
      signal,
      hooks,
    );
  } else if (o.prometheus) {
    const e: CollectorEntry = { name: 'prometheus', status: interrupted ? 'skipped' : 'failed', message: interrupted ? 'interrupted' : promNotes.join('; ') || 'no selector', artifacts: [] };
    writer.record(e);
    hooks.done?.(e);
  } else {
    writer.record({ name: 'prometheus', status: 'not-enabled', message: 'no --prometheus: latency and Go runtime series not collected', artifacts: [] });
  }
  const storedFailed = await stored;
  if (storedFailed) throw storedFailed;
  for (const n of promNotes) progress.note(n);

  const dir = await writer.finish({
    complete: !interrupted,
    incompleteReason: interrupted ? 'interrupted (SIGINT/SIGTERM)' : undefined,
    target: {
      ...t.description,
      pprofUrl: pprof ? redactUrl(pprof.baseUrl) : undefined,
      prometheusUrl: o.prometheus ? redactUrl(o.prometheus.url) : undefined,
      selector,
      latencyMetric,
      profilesUrl: o.profileStore?.store.shown,
    },
    windows,
  });
  return { dir, interrupted };
}

/** Profiles and kernel evidence of the present, all concurrently; their window is the spike when it is ongoing. */
async function captureLive(writer: BundleWriter, t: CaptureTarget, o: CaptureOptions, hooks: CollectorHooks, signal: AbortSignal): Promise<void> {
  const pprof = t.pprof;
  const profiles = async () => {
    if (!pprof) {
      const err = t.pprofMissing();
      return failAll(writer, hooks, o.kinds.map((k) => `pprof.${k}`), `${err.message}${err.hint ? ` — ${err.hint}` : ''}`, 'spike');
    }
    // A forwarded endpoint that broke mid-capture: the failed collectors say why, not just "connection refused".
    const broken = t.pprofBroken;
    const done = broken
      ? (e: CollectorEntry) => {
          const why = broken();
          if (e.status === 'failed' && why && !e.message?.includes(why)) e.message = `${e.message ?? 'failed'} (${why})`;
          hooks.done?.(e);
        }
      : hooks.done;
    await capturePprofWindow(pprof, { window: 'spike', seconds: o.durationSeconds, goroutineSnapshots: 10, kinds: o.kinds }, writer, signal, { start: hooks.start, done });
  };
  const noNode = t.kernelMissing ?? "no access to the target's node";
  await Promise.all([
    profiles(),
    t.pid !== undefined && t.reader !== undefined
      ? captureProcfs({ pid: t.pid, seconds: o.durationSeconds, reader: t.reader, procfsOptions: t.procfsOptions }, writer, signal, hooks)
      : failAll(writer, hooks, ['procfs'], noNode, 'spike'),
    !o.bpfScripts.length ? undefined
    : t.pid !== undefined ? captureBpf({ pid: t.pid, seconds: o.durationSeconds, scripts: o.bpfScripts, ...t.bpftrace }, writer, signal, hooks)
    : failAll(writer, hooks, o.bpfScripts.map((s) => `bpftrace.${s}`), noNode, 'spike'),
  ]);
  if (!o.bpfScripts.length) writer.record({ name: 'bpftrace', status: 'not-enabled', message: o.bpfOffReason ?? '--no-bpf: kernel tracing not run', artifacts: [] });
}
