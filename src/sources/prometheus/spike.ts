/**
 * Finding the spike in a P99 series: a robust baseline level (the lower quartile, so a spike covering
 * up to three quarters of the range does not move it) and spread (MAD of the calmer half), spike
 * points well above both, merged into windows. Pure.
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
  /** A spike point is at least this times the baseline P99 (default 2)… */
  minRatio?: number;
  /** …and this many MADs above it. */
  minMads?: number;
  /** Spike points closer than this (seconds) are one window (default three steps). */
  mergeGap?: number;
  /** Longest baseline window, seconds. */
  baselineSeconds?: number;
}

export function findSpikes(points: Array<[number, number]>, o: SpikeOptions = {}): SpikeAnalysis | undefined {
  const pts = points.filter(([, v]) => Number.isFinite(v));
  if (pts.length < 3) return undefined;
  const minRatio = o.minRatio ?? 2, minMads = o.minMads ?? 4, baselineSeconds = o.baselineSeconds ?? 300;
  const step = pts.length > 1 ? (pts[pts.length - 1][0] - pts[0][0]) / (pts.length - 1) : 1;
  // Spike points up to three steps apart are one spike; a longer calm gap starts another.
  const mergeGap = o.mergeGap ?? 3 * step;
  const sorted = pts.map(([, v]) => v).sort((a, b) => a - b);
  const med = quantile(sorted, 0.25);
  const calmer = sorted.slice(0, Math.ceil(sorted.length / 2));
  const mad = median(calmer.map((v) => Math.abs(v - med)));
  const threshold = Math.max(med * minRatio, med + minMads * mad * 1.4826);

  // Hysteresis: a spike starts above the threshold and lasts while P99 stays above half-way back to
  // the baseline, so a slow ramp (a leak) is one spike, not a string of blips after its start.
  const exit = (med + threshold) / 2;
  const spikes: SpikeWindow[] = [];
  let cur: SpikeWindow | undefined;
  let lastHigh = -Infinity;
  for (const [t, v] of pts) {
    if (cur && v > exit && t - lastHigh <= mergeGap) {
      cur.end = t;
      lastHigh = t;
      if (v > cur.peak) [cur.peak, cur.peakAt] = [v, t];
      continue;
    }
    if (v <= threshold) continue;
    if (cur && t - lastHigh <= mergeGap) {
      cur.end = t;
      if (v > cur.peak) [cur.peak, cur.peakAt] = [v, t];
    } else {
      cur = { start: t, end: t, peak: v, peakAt: t };
      spikes.push(cur);
    }
    lastHigh = t;
  }
  // A spike starts where the rise began: walk back over the points already above the exit level.
  for (const sp of spikes) {
    const i = pts.findIndex(([t]) => t === sp.start);
    let j = i;
    while (j > 0 && pts[j - 1][1] > exit && pts[j - 1][0] > (spikes[spikes.indexOf(sp) - 1]?.end ?? -Infinity)) j--;
    sp.start = pts[j][0];
  }
  const lastPointT = pts[pts.length - 1][0];
  const chosen = spikes[spikes.length - 1];
  const ongoing = !!chosen && lastPointT - chosen.end <= Math.max(step * 1.5, 1);

  let baseline: SpikeAnalysis['baseline'];
  if (chosen) {
    // Calm points before the spike, leaving a step of margin; the latest stretch of at most baselineSeconds.
    // …and after any earlier spike, so the baseline window holds no spike.
    const earlier = spikes.length > 1 ? spikes[spikes.length - 2].end : -Infinity;
    const calm = pts.filter(([t, v]) => t > earlier && t < chosen.start - step && v <= threshold);
    if (calm.length >= 2) {
      const end = calm[calm.length - 1][0];
      const start = Math.max(calm[0][0], end - baselineSeconds);
      if (end > start) baseline = { start, end };
    }
  }
  return { baselineP99: med, threshold, spikes, chosen, ongoing, baseline };
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return lo + 1 < sorted.length ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (i - lo) : sorted[lo];
}
