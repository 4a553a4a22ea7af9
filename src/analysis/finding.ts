/** What a cause rule returns, and small helpers the rules share. */
import type { ProfileKind } from '../evidence/model.js';
import { clamp01 } from '../util/num.js';
import type { CauseId } from './catalogue.js';
import type { Facts, GoroutineState } from './features.js';
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
}

export type Rule = (ev: Evidence, facts: Facts) => Finding | null;

/** Growth spike/base on a log scale: 0 at no growth, 1 at `full`× or more. */
export function growth(spike: number, base: number, full = 10): number {
  if (!(spike > 0)) return 0;
  if (!(base > 0)) return 1;
  return clamp01(Math.log(spike / base) / Math.log(full));
}

export interface StateShare {
  /** Share of request goroutines in this state during the spike. */
  spike: number;
  base?: number;
  /** Share of the growth in request goroutines (≈ added request time, by Little's law) in this state. */
  explained: number;
  /** Mean request goroutines in this state (spike, baseline). */
  countSpike: number;
  countBase?: number;
}

/**
 * Request goroutines decompose request time by state (Little's law: in-flight = rate × latency).
 * The growth from baseline to spike, split by state, says which wait the extra latency is made of.
 */
export function stateShare(f: Facts, states: GoroutineState[]): StateShare | undefined {
  const g = f.spike.goroutines;
  if (!g || g.inRequest <= 0) return undefined;
  const count = (by: Partial<Record<GoroutineState, number>>) => states.reduce((t, s) => t + (by[s] ?? 0), 0);
  const cs = count(g.inRequestByState);
  const spike = cs / g.inRequest;
  const b = f.baseline?.goroutines;
  if (!b) return { spike, explained: explainedWithoutBaselineProfile(f, spike), countSpike: cs };
  const cb = count(b.inRequestByState);
  const base = b.inRequest > 0 ? cb / b.inRequest : 0;
  const grew = g.inRequest - b.inRequest;
  // Growth of less than one goroutine in flight is noise: fall back to the spike's own shares.
  const explained = grew >= 1 ? clamp01((cs - cb) / grew) : spike;
  return { spike, base, explained, countSpike: cs, countBase: cb };
}

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
 * Without a baseline goroutine profile (a live investigation of a spike that is happening now), the
 * baseline's in-flight requests come from the latency histogram (Little's law: rate(_sum)). Assume
 * the worst — every baseline request was in this state — and credit the state only with the rest.
 */
function explainedWithoutBaselineProfile(f: Facts, spikeShare: number): number {
  const inS = f.spike.metrics.latency_inflight?.mean, inB = f.baseline?.metrics.latency_inflight?.mean;
  if (inS === undefined || inB === undefined || !(inS > 0)) return spikeShare;
  const baseFrac = Math.min(1, inB / inS);
  if (baseFrac >= 0.999) return 0; // nothing was added to explain
  return clamp01((spikeShare - baseFrac) / (1 - baseFrac));
}
