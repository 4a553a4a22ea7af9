/** What a cause rule returns, and small helpers the rules share. */
import type { ProfileKind } from '../evidence/model.js';
import { clamp01, fmtNum } from '../util/num.js';
import type { CauseId } from './catalogue.js';
import type { Facts, RequestTime } from './features.js';
import type { Evidence } from '../evidence/model.js';
import { firstAppFrame } from './frames.js';

/** A pointer to the artifact a reason came from. */
export interface EvidenceRef {
  artifact: string;
  note: string;
}

export interface Finding {
  id: CauseId;
  /** How much of the spike this explains, 0..1. */
  effect: number;
  /** Independent evidence sources that agree (e.g. "CPU profile", "go_gc_duration_seconds"). */
  support: string[];
  /** Plain-words reasons, each with its numbers. */
  reasons: string[];
  evidence: EvidenceRef[];
  /** Evidence that would have confirmed or refuted this and was not available. */
  missing: string[];
  /** Frames implicated by this cause, highlighted in flame graphs. */
  frames: RegExp[];
  /** Profiles worth a flame graph for this cause. */
  profiles: ProfileKind[];
  /**
   * The latency this cause adds is outside the server's own timer (lost packets, refused
   * connections): clients see it, the server's latency histogram does not, so it is reported even
   * when that histogram shows no spike.
   */
  serverBlind?: boolean;
}

export type Rule = (ev: Evidence, facts: Facts) => Finding | null;

/** Growth spike/base on a log scale: 0 at no growth, 1 at `full`× or more. */
export function growth(spike: number, base: number, full = 10): number {
  if (!(spike > 0)) return 0;
  if (!(base > 0)) return 1;
  return clamp01(Math.log(spike / base) / Math.log(full));
}

export type RequestState = keyof RequestTime['byState'];

export interface StateShare {
  /** Share of request time in these states during the spike. */
  spike: number;
  base?: number;
  /** Share of the added request time (growth of requests in flight) spent in these states. */
  explained: number;
  /** Mean requests in flight in these states (spike, baseline). */
  countSpike: number;
  countBase?: number;
  /** Growth of mean requests in flight from baseline to spike (0 without a baseline). */
  grew: number;
  /** countBase is the spike's split applied to the baseline's total (no baseline profiles). */
  baseEstimated: boolean;
  source: string;
}

/**
 * Request time decomposed by state (Little's law: in flight = rate × latency). The growth from
 * baseline to spike, split by state, says what the extra latency is made of.
 */
export function stateShare(f: Facts, states: RequestState[]): StateShare | undefined {
  const rs = f.spike.requestTime;
  if (!rs || !(rs.inflight > 0)) return undefined;
  const sum = (rt: RequestTime) => states.reduce((t, s) => t + (rt.byState[s] ?? 0), 0);
  const cs = sum(rs);
  const spike = cs / rs.inflight;
  const source = `${rs.waitSource}${rs.inflightSource === 'latency histogram' ? ' + latency histogram' : ''}`;
  const rb = f.baseline?.requestTime;
  if (!rb) return { spike, explained: spike, countSpike: cs, grew: 0, source, baseEstimated: false };
  // Without baseline profiles only the baseline's total is known (from the histogram): split it like
  // the spike's, so each state is credited with its share of what was added.
  const baseKnown = Object.keys(rb.byState).some((k) => k !== 'unaccounted');
  const cb = baseKnown ? sum(rb) : spike * rb.inflight;
  const grew = rs.inflight - rb.inflight;
  // Less growth than this is noise: nothing was added to explain. Without baseline profiles the
  // split of the added time is only an estimate, trusted when the added time dominates the spike.
  const enough = baseKnown ? grew > Math.max(0.01, 0.2 * rb.inflight) : grew > Math.max(0.01, rb.inflight);
  const explained = enough ? clamp01((cs - cb) / grew) : 0;
  return { spike, base: rb.inflight > 0 ? cb / rb.inflight : 0, explained, countSpike: cs, countBase: cb, grew: Math.max(0, grew), source, baseEstimated: !baseKnown };
}

/**
 * Whether a state's request time grew at least `ratio`× from the baseline. An estimated baseline is
 * proportional to the spike's, so its ratio is only the growth of requests in flight, which
 * stateShare already required: the test then says nothing and passes.
 */
export const stateGrew = (share: StateShare, ratio: number) => share.countBase === undefined || share.baseEstimated || share.countSpike >= ratio * share.countBase;

/** Name the artifacts of a profile kind in a window. */
export function refs(ev: Evidence, kind: ProfileKind, note: string, windows: Array<'spike' | 'baseline'> = ['spike', 'baseline']): EvidenceRef[] {
  const out: EvidenceRef[] = [];
  for (const w of windows) {
    const p = (w === 'spike' ? ev.spike : ev.baseline)?.profiles[kind];
    if (p) for (const a of p.artifacts) out.push({ artifact: a, note: `${note} (${w})` });
  }
  return out;
}

export function metricRef(ev: Evidence, key: keyof Evidence['metrics'], note: string): EvidenceRef[] {
  const m = ev.metrics[key];
  return m ? [{ artifact: m.artifact, note: `${note}: ${m.query}` }] : [];
}

/** Escape a Go function name for use in a highlight pattern. */
export const exact = (name: string) => new RegExp('^' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');

/** The application frames closest to the leaf, weighted, for stacks that satisfy `pred`. */
export function culprits(stacks: ReadonlyArray<{ frames: string[]; value: number }>, pred: (frames: string[]) => boolean, limit = 3): Array<{ name: string; value: number }> {
  const by = new Map<string, number>();
  let total = 0;
  for (const s of stacks) {
    if (!pred(s.frames)) continue;
    const f = firstAppFrame(s.frames);
    if (!f) continue;
    by.set(f, (by.get(f) ?? 0) + s.value);
    total += s.value;
  }
  return [...by.entries()]
    .map(([name, value]) => ({ name, value: total > 0 ? value / total : 0 }))
    .sort((a, b) => b.value - a.value || a.name.localeCompare(b.name))
    .slice(0, limit);
}


/**
 * References to kernel evidence: procfs/cgroup files (by key, as read at the end of the window; a key
 * ending in `/` names a directory such as `task/`), or one bpftrace script's output.
 */
export function kernelRefs(f: Facts, source: 'procfs' | `bpf:${string}`, note: string, files: string[] = []): EvidenceRef[] {
  const k = f.kernel;
  if (!k) return [];
  if (source === 'procfs') {
    const out: EvidenceRef[] = [];
    for (const key of files) {
      const rel = `procfs/after/${key}`;
      if (k.artifacts.procfs.some((a) => (key.endsWith('/') ? a.startsWith(rel) : a === rel))) out.push({ artifact: rel, note });
    }
    return out;
  }
  const a = k.artifacts.bpf[source.slice(4)];
  return a ? [{ artifact: a, note }] : [];
}

/**
 * A metric's growth from baseline to spike: "x (spike) vs y (baseline)" and whether it rose by at
 * least `ratio` and `minDelta`. Undefined when the spike window has no such series.
 */
export function metricRise(f: Facts, key: keyof Facts['spike']['metrics'], ratio: number, minDelta: number): { spike: number; base?: number; rose: boolean } | undefined {
  const s = f.spike.metrics[key], b = f.baseline?.metrics[key];
  if (!s) return undefined;
  const base = b?.mean;
  return { spike: s.mean, base, rose: s.mean >= minDelta + (base ?? 0) && (base === undefined || s.mean >= ratio * base) };
}

/** CPU time as cores, for reasons. */
export const cores = (v: number) => `${fmtNum(v)} cores`;

/**
 * A node or container series that rose from baseline to spike, recorded as one more witness of a
 * cause: its source in `support`, a reason with both windows' values, and the query as evidence.
 */
export function riseWitness(
  ev: Evidence,
  f: Facts,
  into: Pick<Finding, 'support' | 'reasons' | 'evidence'>,
  w: { key: keyof Facts['spike']['metrics']; source: string; what: string; show: (v: number) => string; ratio: number; min: number },
): { spike: number; base?: number } | undefined {
  const r = metricRise(f, w.key, w.ratio, w.min);
  if (!r?.rose) return undefined;
  into.support.push(w.source);
  into.reasons.push(`${w.what} ${w.show(r.spike)} in the spike${r.base !== undefined ? ` vs ${w.show(r.base)} in the baseline` : ''}.`);
  into.evidence.push(...metricRef(ev, w.key, w.what));
  return r;
}
