/**
 * Finding the spike in a P99 series: a robust baseline (median and MAD of the whole range, so the
 * spike itself barely moves it), spike points well above it, merged into windows. Pure.
 */
import { median } from '../../util/num.js';

export interface SpikeWindow {
  start: number; // unix seconds
  end: number;
  peak: number;
  peakAt: number;
}

export interface SpikeAnalysis {
  baselineP99: number;
  /** Points above this are spike points. */
  threshold: number;
  spikes: SpikeWindow[];
  /** The spike to investigate: the latest one (ongoing spikes first), else undefined. */
  chosen?: SpikeWindow;
  ongoing: boolean;
  /** A calm stretch before the chosen spike, for baseline evidence. */
  baseline?: { start: number; end: number };
}

export interface SpikeOptions {
  /** A spike point is at least this times the baseline P99… */
  minRatio?: number;
  /** …and this many MADs above it. */
  minMads?: number;
  /** Spike points closer than this (seconds) are one window. */
  mergeGap?: number;
  /** Longest baseline window, seconds. */
  baselineSeconds?: number;
}

export function findSpikes(points: Array<[number, number]>, o: SpikeOptions = {}): SpikeAnalysis | undefined {
  const pts = points.filter(([, v]) => Number.isFinite(v));
  if (pts.length < 3) return undefined;
  const minRatio = o.minRatio ?? 1.5, minMads = o.minMads ?? 4, mergeGap = o.mergeGap ?? 60, baselineSeconds = o.baselineSeconds ?? 300;
  const values = pts.map(([, v]) => v);
  const med = median(values);
  const mad = median(values.map((v) => Math.abs(v - med)));
  const threshold = Math.max(med * minRatio, med + minMads * mad * 1.4826);

  const spikes: SpikeWindow[] = [];
  let cur: SpikeWindow | undefined;
  let lastT = -Infinity;
  for (const [t, v] of pts) {
    if (v <= threshold) continue;
    if (cur && t - lastT <= mergeGap) {
      cur.end = t;
      if (v > cur.peak) [cur.peak, cur.peakAt] = [v, t];
    } else {
      cur = { start: t, end: t, peak: v, peakAt: t };
      spikes.push(cur);
    }
    lastT = t;
  }
  const step = pts.length > 1 ? (pts[pts.length - 1][0] - pts[0][0]) / (pts.length - 1) : 0;
  const lastPointT = pts[pts.length - 1][0];
  const chosen = spikes[spikes.length - 1];
  const ongoing = !!chosen && lastPointT - chosen.end <= Math.max(step * 1.5, 1);

  let baseline: SpikeAnalysis['baseline'];
  if (chosen) {
    // Calm points before the spike, leaving a step of margin; the latest stretch of at most baselineSeconds.
    const calm = pts.filter(([t, v]) => t < chosen.start - step && v <= threshold);
    if (calm.length >= 2) {
      const end = calm[calm.length - 1][0];
      const start = Math.max(calm[0][0], end - baselineSeconds);
      if (end > start) baseline = { start, end };
    }
  }
  return { baselineP99: med, threshold, spikes, chosen, ongoing, baseline };
}
