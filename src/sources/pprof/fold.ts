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
  const groups = new StackTable();
  let total = 0;
  for (const s of p.samples) {
    const v = s.values[ti];
    if (v === 0) continue;
    total += v;
    groups.add(s.stack, v);
  }
  // Groups come out in first-seen order, so equal values keep it after the (stable) sort.
  const stacks: FlameStack[] = new Array(groups.size);
  for (let g = 0; g < groups.size; g++) {
    const ids = groups.ids[g];
    const frames = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) frames[ids.length - 1 - i] = p.frames[ids[i]];
    stacks[g] = { frames, value: groups.values[g] };
  }
  stacks.sort((a, b) => b.value - a.value);
  return { sampleType: p.sampleTypes[ti], total, stacks };
}

/**
 * Groups identical frame-id stacks and sums their values: an open-addressing hash table over the
 * ids themselves, so that (unlike a Map keyed by `stack.join(',')`) no string is built per sample.
 */
class StackTable {
  /** Per group, in first-seen order: the first sample's stack, its hash and the summed value. */
  readonly ids: number[][] = [];
  readonly values: number[] = [];
  private readonly hashes: number[] = [];
  /** Group index + 1 per slot; 0 is empty. Kept at most half full. */
  private slots = new Int32Array(1 << 10);

  get size(): number {
    return this.ids.length;
  }

  add(stack: number[], value: number): void {
    const h = hashIds(stack);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i];
      if (slot === 0) break;
      const g = slot - 1;
      if (this.hashes[g] === h && sameIds(this.ids[g], stack)) {
        this.values[g] += value;
        return;
      }
    }
    this.ids.push(stack);
    this.values.push(value);
    this.hashes.push(h);
    if (this.ids.length * 2 > this.slots.length) this.grow();
    else this.place(this.ids.length - 1);
  }

  private place(g: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashes[g] & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = g + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let g = 0; g < this.ids.length; g++) this.place(g);
  }
}

/** A 32-bit hash of frame ids (multiply-xorshift per id, murmur3's finaliser at the end). */
function hashIds(ids: number[]): number {
  let h = ids.length;
  for (let i = 0; i < ids.length; i++) {
    h = Math.imul(h ^ ids[i], 0x9e3779b1);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function sameIds(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface TopEntry {
  name: string;
  flat: number;
  cum: number;
}

/** Flat (leaf) and cumulative (anywhere on the stack, counted once per stack) value per function. */
export function top(f: Folded, limit = 20, by: 'flat' | 'cum' = 'flat'): TopEntry[] {
  // One slot per function name; `seenIn` marks the last stack a slot was counted for, which
  // replaces a per-stack Set when counting recursive functions once.
  const slotOf = new Map<string, number>();
  const names: string[] = [];
  const flat: number[] = [];
  const cum: number[] = [];
  const seenIn: number[] = [];
  for (let si = 0; si < f.stacks.length; si++) {
    const { frames, value } = f.stacks[si];
    let k = -1;
    for (let i = 0; i < frames.length; i++) {
      const fr = frames[i];
      k = slotOf.get(fr) ?? -1;
      if (k < 0) {
        k = names.length;
        slotOf.set(fr, k);
        names.push(fr);
        flat.push(0);
        cum.push(0);
        seenIn.push(-1);
      }
      if (seenIn[k] === si) continue; // recursion: count a function once per stack
      seenIn[k] = si;
      cum[k] += value;
    }
    if (k >= 0) flat[k] += value; // the leaf is the last frame
  }
  const entries = names.map((name, k) => ({ name, flat: flat[k], cum: cum[k] }));
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
