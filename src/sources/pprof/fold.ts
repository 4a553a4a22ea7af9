/** Folding, flat/cum tops and spike-vs-baseline diffs over normalised pprof profiles. Pure. */
import type { FlameStack } from '../../render/flamegraph/model.js';
import { sampleTypeIndex, type Profile, type ValueType } from './parse.js';

export interface Folded {
  sampleType: ValueType;
  /** Sum of values over all stacks. */
  total: number;
  /** Root-first stacks with identical stacks merged, ordered by descending value. */
  stacks: FlameStack[];
}

/** Merge samples with identical stacks for one sample type (by name, default when omitted). */
export function fold(p: Profile, sampleType?: string): Folded {
  const ti = sampleTypeIndex(p, sampleType);
  const byKey = new Map<string, { ids: number[]; value: number }>();
  let total = 0;
  for (const s of p.samples) {
    const v = s.values[ti];
    if (v === 0) continue;
    total += v;
    const key = s.stack.join(',');
    const e = byKey.get(key);
    if (e) e.value += v;
    else byKey.set(key, { ids: s.stack, value: v });
  }
  const stacks: FlameStack[] = [];
  for (const { ids, value } of byKey.values()) {
    const frames = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) frames[ids.length - 1 - i] = p.frames[ids[i]];
    stacks.push({ frames, value });
  }
  stacks.sort((a, b) => b.value - a.value);
  return { sampleType: p.sampleTypes[ti], total, stacks };
}

export interface TopEntry {
  name: string;
  flat: number;
  cum: number;
}

/** Flat (leaf) and cumulative (anywhere on the stack, counted once per stack) value per function. */
export function top(f: Folded, limit = 20, by: 'flat' | 'cum' = 'flat'): TopEntry[] {
  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  const seen = new Set<string>();
  for (const s of f.stacks) {
    const leaf = s.frames[s.frames.length - 1];
    if (leaf !== undefined) flat.set(leaf, (flat.get(leaf) ?? 0) + s.value);
    seen.clear();
    for (const fr of s.frames) {
      if (seen.has(fr)) continue; // recursion: count a function once per stack
      seen.add(fr);
      cum.set(fr, (cum.get(fr) ?? 0) + s.value);
    }
  }
  const entries = [...cum.entries()].map(([name, c]) => ({ name, flat: flat.get(name) ?? 0, cum: c }));
  entries.sort((a, b) => b[by] - a[by] || a.name.localeCompare(b.name));
  return entries.slice(0, limit);
}

/**
 * Differential stacks: every stack of either side, `value` from the spike and `baseValue` from the
 * baseline scaled to the spike's duration, so a stack that burns the same per second shows no change.
 */
export function diff(spike: Folded, spikeSeconds: number, base: Folded, baseSeconds: number): FlameStack[] {
  const scale = baseSeconds > 0 && spikeSeconds > 0 ? spikeSeconds / baseSeconds : 1;
  const out = new Map<string, FlameStack>();
  for (const s of spike.stacks) out.set(s.frames.join(';'), { frames: s.frames, value: s.value, baseValue: 0 });
  for (const s of base.stacks) {
    const key = s.frames.join(';');
    const e = out.get(key);
    if (e) e.baseValue = (e.baseValue ?? 0) + s.value * scale;
    else out.set(key, { frames: s.frames, value: 0, baseValue: s.value * scale });
  }
  return [...out.values()];
}

/** Sum of values of stacks for which `pred` holds. */
export function sumWhere(f: Folded, pred: (frames: string[]) => boolean): number {
  let t = 0;
  for (const s of f.stacks) if (pred(s.frames)) t += s.value;
  return t;
}
