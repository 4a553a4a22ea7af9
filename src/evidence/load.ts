/** Bundle → Evidence: parse every artifact an ok collector lists. Corrupt artifacts are input errors. */
import { parsePprof } from '../sources/pprof/parse.js';
import { fold, type Folded } from '../sources/pprof/fold.js';
import { combine, parsePromResponse } from '../sources/prometheus/parse.js';
import type { MetricKey } from '../sources/prometheus/queries.js';
import { inputError } from '../errors.js';
import { parseBpftrace } from '../sources/bpftrace/parse.js';
import { kernelDelta } from '../sources/procfs/parse.js';
import type { Bundle } from './bundle.js';
import type { CollectorEntry, WindowName } from './manifest.js';
import {
  PROFILE_KINDS,
  PROFILE_SAMPLE_TYPE,
  type Evidence,
  type MetricEvidence,
  type ProfileEvidence,
  type ProfileKind,
  type WindowEvidence,
} from './model.js';
import path from 'node:path';

export async function loadEvidence(bundle: Bundle): Promise<Evidence> {
  const m = bundle.manifest;
  const win = (w: WindowName): WindowEvidence | undefined => {
    const tw = m.windows[w];
    return tw ? { window: w, start: Date.parse(tw.start) / 1000, end: Date.parse(tw.end) / 1000, profiles: {} } : undefined;
  };
  const ev: Evidence = { dir: bundle.dir, manifest: m, spike: win('spike')!, baseline: win('baseline'), metrics: {}, kernel: { bpf: {} }, gaps: [] };
  if (!m.complete) ev.gaps.push(`the capture did not finish${m.incompleteReason ? ` (${m.incompleteReason})` : ''}: this bundle is partial`);

  for (const c of m.collectors) {
    if (c.status !== 'ok') {
      ev.gaps.push(`${c.name}${c.window ? ` (${c.window})` : ''} ${c.status}${c.message ? `: ${c.message}` : ''}`);
      continue;
    }
    if (c.name.startsWith('pprof.')) await loadProfile(bundle, c, ev);
    else if (c.name === 'prometheus') await loadMetrics(bundle, c, ev);
    else if (c.name === 'procfs') await loadProcfs(bundle, c, ev);
    else if (c.name.startsWith('bpftrace.')) await loadBpf(bundle, c, ev);
  }
  return ev;
}

async function loadProfile(bundle: Bundle, c: CollectorEntry, ev: Evidence): Promise<void> {
  const kind = c.name.slice('pprof.'.length) as ProfileKind;
  if (!PROFILE_KINDS.includes(kind)) return; // a newer collector this version does not use
  const w = c.window === 'baseline' ? ev.baseline : c.window === 'spike' ? ev.spike : undefined;
  if (!w) throw inputError(`${path.join(bundle.dir, 'manifest.json')}: collector ${c.name} names window "${String(c.window)}" that the manifest does not define`);
  const folds: Folded[] = [];
  const times: number[] = [];
  let seconds = 0;
  for (const rel of c.artifacts) {
    const p = parsePprof(await bundle.read(rel), path.join(bundle.dir, rel));
    const st = p.sampleTypes.some((t) => t.type === PROFILE_SAMPLE_TYPE[kind]) ? PROFILE_SAMPLE_TYPE[kind] : undefined;
    folds.push(fold(p, st));
    times.push(p.timeNanos / 1e9);
    seconds = Math.max(seconds, p.durationNanos / 1e9);
  }
  if (folds.length === 0) return;
  const metaSeconds = Number(c.meta?.seconds);
  if (kind !== 'goroutine' && kind !== 'heap' && Number.isFinite(metaSeconds) && metaSeconds > 0) seconds = metaSeconds;
  const pe: ProfileEvidence = {
    kind,
    window: w.window,
    artifacts: c.artifacts,
    folded: folds.length === 1 ? folds[0] : averageFolds(folds),
    seconds: kind === 'goroutine' || kind === 'heap' ? 0 : seconds,
    snapshots: folds.length,
    // A goroutine leak shows as a rise between snapshots: keep them in order, not only their mean.
    series: folds.length > 1 && times.every((t) => t > 0) ? folds.map((folded, i) => ({ time: times[i], folded })).sort((a, b) => a.time - b.time) : undefined,
  };
  w.profiles[kind] = pe;
}

/** Average of several snapshots (goroutine profiles taken during one window). */
function averageFolds(folds: Folded[]): Folded {
  const acc = new Map<string, { frames: string[]; value: number }>();
  for (const f of folds) {
    for (const s of f.stacks) {
      const key = s.frames.join(';');
      const e = acc.get(key);
      if (e) e.value += s.value;
      else acc.set(key, { frames: s.frames, value: s.value });
    }
  }
  const n = folds.length;
  const stacks = [...acc.values()].map((s) => ({ frames: s.frames, value: s.value / n })).sort((a, b) => b.value - a.value);
  return { sampleType: folds[0].sampleType, total: folds.reduce((t, f) => t + f.total, 0) / n, stacks };
}

async function loadMetrics(bundle: Bundle, c: CollectorEntry, ev: Evidence): Promise<void> {
  const queries = (c.meta?.queries ?? {}) as Record<string, string>;
  for (const rel of c.artifacts) {
    const key = path.basename(rel, '.json') as MetricKey;
    const series = parsePromResponse((await bundle.read(rel)).toString('utf8'), path.join(bundle.dir, rel));
    const points = series.length ? combine(series) : [];
    if (points.length === 0) continue; // the service does not expose it: absent, not zero
    const me: MetricEvidence = { key, query: queries[key] ?? '', artifact: rel, points };
    ev.metrics[key] = me;
  }
}

/** Before/after reads of procfs and cgroup files → deltas over the capture window. */
async function loadProcfs(bundle: Bundle, c: CollectorEntry, ev: Evidence): Promise<void> {
  const seconds = Number(c.meta?.seconds);
  if (!(seconds > 0)) throw inputError(`${path.join(bundle.dir, 'manifest.json')}: collector procfs has no meta.seconds (the window between its two reads)`);
  const snap: Record<'before' | 'after', Record<string, string>> = { before: {}, after: {} };
  for (const rel of c.artifacts) {
    const m = /^procfs\/(before|after)\/(.+)$/.exec(rel);
    if (m) snap[m[1] as 'before' | 'after'][m[2]] = (await bundle.read(rel)).toString('utf8');
  }
  const delta = kernelDelta(snap.before, snap.after, seconds);
  ev.kernel.procfs = { delta, artifacts: c.artifacts };
  for (const g of delta.gaps) ev.gaps.push(`procfs: ${g}`);
}

async function loadBpf(bundle: Bundle, c: CollectorEntry, ev: Evidence): Promise<void> {
  const script = c.name.slice('bpftrace.'.length);
  const rel = c.artifacts[0];
  if (!rel) return;
  const output = parseBpftrace((await bundle.read(rel)).toString('utf8'), path.join(bundle.dir, rel));
  ev.kernel.bpf[script] = { output, artifact: rel, seconds: Number(c.meta?.seconds) || 0 };
}
