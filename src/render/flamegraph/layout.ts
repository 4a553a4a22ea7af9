/**
 * Folded stacks → merged call tree → frame rectangles, as fractions of the total. Pure.
 *
 * The tree is never built as objects. Like flamegraph.pl's flow(), stacks are sorted and swept:
 * two consecutive stacks share their common prefix, so a frame opens where a stack first differs
 * from the one before and closes when one differs below it; its width is the value summed in
 * between. Identical siblings merge because equal paths sort together. With frame names interned
 * to name-ordered integers this costs two typed arrays and one object per *drawn* frame; a node
 * object (or Map) per merged frame took 2–5 s and gigabytes for 200k distinct stacks × depth 40.
 */
import type { FlameStack } from './model.js';

/** One rectangle of the graph. `x` and `width` are fractions of the root's value. */
export interface FlameFrame {
  name: string;
  /** Root (`all`) is depth 0. */
  depth: number;
  x: number;
  width: number;
  /** Inclusive: this frame and everything it called. */
  value: number;
  baseValue: number;
  /** Exclusive: in this frame itself, not in its callees (pruned callees included). */
  selfValue: number;
  selfBaseValue: number;
}

export interface FlameLayout {
  /** Pre-order: every parent before its children, siblings left to right in name order. */
  frames: FlameFrame[];
  total: number;
  baseTotal: number;
  /** Deepest drawn frame (0 when only the root is drawn). */
  maxDepth: number;
  /** Frames dropped for being narrower than `minWidth`, their descendants included. */
  pruned: number;
}

export const ROOT_NAME = 'all';

/** flamegraph.pl omits frames under 0.1 px in a 1200 px image. */
export const DEFAULT_MIN_WIDTH = 0.1 / 1200;

/**
 * Merges the stacks under a root named `all` and lays them out: siblings sorted by name (code-unit
 * order), children from their parent's left edge, self time to their right; frames narrower than
 * `minWidth` (a fraction of the total) are dropped.
 */
export function layoutFlame(stacks: readonly FlameStack[], opts: { minWidth?: number } = {}): FlameLayout {
  const minWidth = opts.minWidth ?? DEFAULT_MIN_WIDTH;
  let total = 0;
  let baseTotal = 0;
  let frameCount = 0;
  let maxLen = 0;
  for (let i = 0; i < stacks.length; i++) {
    const { value, baseValue = 0, frames } = stacks[i];
    if (!(value >= 0 && value < Infinity && baseValue >= 0 && baseValue < Infinity)) {
      throw new RangeError(`stack ${i}: values must be finite and >= 0 (value ${value}, baseValue ${baseValue})`);
    }
    total += value;
    baseTotal += baseValue;
    frameCount += frames.length;
    if (frames.length > maxLen) maxLen = frames.length;
  }
  const layout: FlameLayout = { frames: [], total, baseTotal, maxDepth: 0, pruned: 0 };
  if (!(total > 0)) return layout;

  const { ids, offsets, names } = internByName(stacks, frameCount);
  const order = sortStacks(ids, offsets, stacks.length);

  // The open path: index d holds the frame at depth d (0 = root), with the running totals at the
  // moment it opened and the inclusive values of its children closed so far.
  const openId = new Int32Array(maxLen + 1);
  const openAt = new Float64Array(maxLen + 1);
  const openBaseAt = new Float64Array(maxLen + 1);
  const childSum = new Float64Array(maxLen + 1);
  const childBaseSum = new Float64Array(maxLen + 1);
  let open = 1; // the root is always open
  let cum = 0;
  let cumBase = 0;

  const close = (d: number): void => {
    const value = cum - openAt[d];
    const baseValue = cumBase - openBaseAt[d];
    if (d > 0) {
      childSum[d - 1] += value;
      childBaseSum[d - 1] += baseValue;
    }
    const width = value / total;
    if (width > 0 && width >= minWidth) {
      const name = d === 0 ? ROOT_NAME : names[openId[d]];
      layout.frames.push({
        name, depth: d, x: openAt[d] / total, width, value, baseValue,
        selfValue: value - childSum[d], selfBaseValue: baseValue - childBaseSum[d],
      });
      if (d > layout.maxDepth) layout.maxDepth = d;
    } else {
      layout.pruned++;
    }
    childSum[d] = 0;
    childBaseSum[d] = 0;
  };

  for (let k = 0; k < order.length; k++) {
    const s = order[k];
    const start = offsets[s];
    const len = offsets[s + 1] - start;
    let common = 0;
    while (common < len && common + 1 < open && ids[start + common] === openId[common + 1]) common++;
    while (open > common + 1) close(--open);
    for (let d = common + 1; d <= len; d++) {
      openId[d] = ids[start + d - 1];
      openAt[d] = cum;
      openBaseAt[d] = cumBase;
    }
    open = len + 1;
    cum += stacks[s].value;
    cumBase += stacks[s].baseValue ?? 0;
  }
  while (open > 0) close(--open);

  // Frames closed children-first; a parent starts at or left of its children, so this is pre-order.
  layout.frames.sort((a, b) => a.x - b.x || a.depth - b.depth);
  return layout;
}

/** Frame names → integers in name order, flattened: stack i is ids[offsets[i] … offsets[i+1]). */
function internByName(stacks: readonly FlameStack[], frameCount: number) {
  const ids = new Int32Array(frameCount);
  const offsets = new Int32Array(stacks.length + 1);
  const index = new Map<string, number>();
  const seen: string[] = [];
  let k = 0;
  for (let i = 0; i < stacks.length; i++) {
    offsets[i] = k;
    const frames = stacks[i].frames;
    for (let j = 0; j < frames.length; j++) {
      let id = index.get(frames[j]);
      if (id === undefined) {
        id = seen.length;
        seen.push(frames[j]);
        index.set(frames[j], id);
      }
      ids[k++] = id;
    }
  }
  offsets[stacks.length] = k;

  const byName = seen.map((_, i) => i).sort((a, b) => (seen[a] < seen[b] ? -1 : seen[a] > seen[b] ? 1 : 0));
  const rank = new Int32Array(seen.length);
  for (let r = 0; r < byName.length; r++) rank[byName[r]] = r;
  for (let i = 0; i < k; i++) ids[i] = rank[ids[i]];
  return { ids, offsets, names: byName.map((id) => seen[id]) };
}

/** Stack indices in path order; a stack sorts after its own extensions, so self time lands right. */
function sortStacks(ids: Int32Array, offsets: Int32Array, n: number): number[] {
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => {
    let i = offsets[a];
    let j = offsets[b];
    const endA = offsets[a + 1];
    const endB = offsets[b + 1];
    for (; i < endA && j < endB; i++, j++) {
      if (ids[i] !== ids[j]) return ids[i] - ids[j];
    }
    return endB - j - (endA - i);
  });
}
