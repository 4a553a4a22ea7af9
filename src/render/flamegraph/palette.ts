/** Frame colours: stable by name, a hue family per kind, cause overrides and differential red/blue. Pure. */
import type { FlameAnnotation } from './model.js';

/** What a frame is, judged by its name alone. */
export type FrameKind = 'user' | 'runtime' | 'kernel' | 'separator';

/** flamegraph.pl's search highlight. */
export const SEARCH_COLOR = '#e600e6';
/** flamegraph.pl draws the `-` user/kernel separator grey. */
export const SEPARATOR_COLOR = '#a0a0a0';
export const DIFF_GROW_COLOR = '#dc2828';
export const DIFF_SHRINK_COLOR = '#2850dc';
export const DIFF_SAME_COLOR = '#f5f5f5';

/** A representative colour per kind, for legends. */
export const KIND_SWATCH: Record<FrameKind, string> = {
  user: rgb(230, 115, 27),
  runtime: rgb(80, 192, 192),
  kernel: rgb(110, 110, 218),
  separator: SEPARATOR_COLOR,
};

// Go ≥1.21 moved parts of the runtime under internal/runtime/.
const RUNTIME_FRAME = /^(?:runtime[./]|internal\/runtime\/)/;

/** Kernel frames carry flamegraph.pl's `_[k]` suffix; `-` (or `--`) separates user from kernel stacks. */
export function frameKind(name: string): FrameKind {
  if (name === '-' || name === '--') return 'separator';
  if (name.endsWith('_[k]')) return 'kernel';
  if (RUNTIME_FRAME.test(name)) return 'runtime';
  return 'user';
}

/** Colour for a frame by kind and name hash: the same name gets the same colour in every graph. */
export function frameColor(name: string): string {
  const kind = frameKind(name);
  if (kind === 'separator') return SEPARATOR_COLOR;
  const [v1, v2, v3] = nameHash(name);
  switch (kind) {
    case 'user': // flamegraph.pl "hot"
      return rgb(205 + Math.floor(50 * v3), Math.floor(230 * v1), Math.floor(55 * v2));
    case 'runtime': // aqua
      return rgb(50 + Math.floor(60 * v1), 165 + Math.floor(55 * v2), 165 + Math.floor(55 * v2));
    case 'kernel': // periwinkle, away from both the hot reds and the runtime aquas
      return rgb(80 + Math.floor(60 * v1), 80 + Math.floor(60 * v1), 190 + Math.floor(55 * v2));
  }
}

/**
 * A frame no cause implicates, in a graph that has causes: washed out towards grey so the cause
 * colours stand out against flamegraph.pl's warm palette (they would otherwise blend in).
 */
export function mutedColor(color: string): string {
  return mix(color, '#e4e4e4', 0.6);
}

/** The first annotation, in the given order, with a pattern matching `name`. */
export function matchAnnotation(
  name: string,
  annotations: readonly FlameAnnotation[],
): FlameAnnotation | undefined {
  for (const a of annotations) {
    for (const p of a.patterns) {
      // A /g or /y pattern keeps state between test() calls; start each frame from 0.
      p.lastIndex = 0;
      const hit = p.test(name);
      p.lastIndex = 0;
      if (hit) return a;
    }
  }
  return undefined;
}

/** Fill for an ordinary (non-differential) frame: the matching cause's colour, else `frameColor`. */
export function frameFill(name: string, annotations: readonly FlameAnnotation[]): string {
  return matchAnnotation(name, annotations)?.color ?? frameColor(name);
}

/**
 * Differential fill: red for growth, blue for shrink, saturation ∝ |delta| / maxAbsDelta,
 * near-white for no change; a frame present on one side only (by its inclusive `value` and
 * `baseValue`) gets the full colour. flamegraph.pl passes the frame's self delta as `delta`, so
 * colour marks where the change happened rather than every caller above it.
 */
export function diffColor(value: number, baseValue: number, delta: number, maxAbsDelta: number): string {
  if (baseValue <= 0 && value > 0) return DIFF_GROW_COLOR;
  if (value <= 0 && baseValue > 0) return DIFF_SHRINK_COLOR;
  if (delta === 0 || !(maxAbsDelta > 0)) return DIFF_SAME_COLOR;
  const ratio = Math.min(1, Math.abs(delta) / maxAbsDelta);
  return mix(DIFF_SAME_COLOR, delta > 0 ? DIFF_GROW_COLOR : DIFF_SHRINK_COLOR, ratio);
}

/** Three numbers in [0, 1) derived from `name` (FNV-1a, then murmur3's finaliser to spread the bits). */
export function nameHash(name: string): [number, number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = fmix32(h);
  const h2 = fmix32(h ^ 0x9e3779b9);
  return [(h >>> 16) / 0x10000, (h & 0xffff) / 0x10000, (h2 >>> 16) / 0x10000];
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rgb(r: number, g: number, b: number): string {
  return '#' + ((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1);
}

/** Linear blend of two `#rrggbb` colours; t = 0 gives `from`. */
function mix(from: string, to: string, t: number): string {
  const a = parseInt(from.slice(1), 16);
  const b = parseInt(to.slice(1), 16);
  const ch = (shift: number) => {
    const x = (a >> shift) & 0xff;
    const y = (b >> shift) & 0xff;
    return Math.round(x + (y - x) * t);
  };
  return rgb(ch(16), ch(8), ch(0));
}
