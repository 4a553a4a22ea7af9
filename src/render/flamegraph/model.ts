/** What a flame graph is drawn from: folded stacks plus the causes to highlight. */

/** One folded stack, root first. `baseValue` is set only for differential graphs. */
export interface FlameStack {
  frames: string[];
  value: number;
  /** Baseline value for the same stack, already scaled to be comparable with `value` (e.g. per second). */
  baseValue?: number;
}

/** A cause whose frames are highlighted in its own colour. */
export interface FlameAnnotation {
  /** Stable cause id, e.g. `gc-pressure`. */
  id: string;
  /** Short legend text, e.g. "GC pressure (score 0.82)". */
  label: string;
  /** CSS colour, e.g. `#d62728`. */
  color: string;
  /** A frame is implicated when its name matches any of these. */
  patterns: RegExp[];
}

export interface FlameInput {
  title: string;
  /** Second line under the title, e.g. "top causes: gc-pressure, lock-contention". */
  subtitle?: string;
  /** What a sample's value measures: `nanoseconds`, `count`, `bytes`, … */
  unit: string;
  /** Sample type shown in details, e.g. `cpu`, `delay`, `goroutines`. */
  sampleType: string;
  stacks: FlameStack[];
  annotations?: FlameAnnotation[];
  /** Draw as a differential graph: width = value, colour = value − baseValue. */
  differential?: boolean;
}
