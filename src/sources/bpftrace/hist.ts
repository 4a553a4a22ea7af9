/** Reading bpftrace histograms and value maps. Pure. */
import { OPEN_HIGH, OPEN_LOW, type BpfKey, type BpfMap, type HistBucket } from './model.js';

/** Number of observations in a histogram. */
export function histTotal(buckets: readonly HistBucket[]): number {
  return buckets.reduce((t, b) => t + b.count, 0);
}

/**
 * The q-quantile (0..1), interpolated linearly inside its bucket like Prometheus'
 * histogram_quantile; an open-ended bucket answers with its finite bound. Undefined when empty.
 */
export function histQuantile(buckets: readonly HistBucket[], q: number): number | undefined {
  const sorted = [...buckets].filter((b) => b.count > 0).sort((a, b) => a.lo - b.lo);
  const total = histTotal(sorted);
  if (total === 0) return undefined;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let before = 0;
  for (const b of sorted) {
    if (before + b.count >= rank) {
      if (b.hi === OPEN_HIGH) return b.lo;
      if (b.lo === OPEN_LOW) return b.hi;
      return b.lo + ((b.hi - b.lo) * (rank - before)) / b.count;
    }
    before += b.count;
  }
  const last = sorted[sorted.length - 1];
  return last.hi === OPEN_HIGH ? last.lo : last.hi;
}

/** Approximate mean from bucket midpoints (open buckets count at their finite bound). */
export function histMean(buckets: readonly HistBucket[]): number | undefined {
  const total = histTotal(buckets);
  if (total === 0) return undefined;
  let sum = 0;
  for (const b of buckets) {
    const mid = b.hi === OPEN_HIGH ? b.lo : b.lo === OPEN_LOW ? b.hi : (b.lo + b.hi) / 2;
    sum += mid * b.count;
  }
  return sum / total;
}

/** Sum of a scalar or value map's values, optionally only where `pred(key)` holds; 0 for other kinds. */
export function sumValues(map: BpfMap | undefined, pred?: (key: BpfKey) => boolean): number {
  if (!map) return 0;
  if (map.kind === 'scalar') return !pred || pred([]) ? map.value : 0;
  if (map.kind !== 'values') return 0;
  let t = 0;
  for (const e of map.entries) if (!pred || pred(e.key)) t += e.value;
  return t;
}

interface EntriesOf {
  values: Extract<BpfMap, { kind: 'values' }>['entries'];
  hist: Extract<BpfMap, { kind: 'hist' }>['entries'];
  stats: Extract<BpfMap, { kind: 'stats' }>['entries'];
}

/** The entries of a map if it has the given kind, else [] (an unkeyed hist or stats map has one entry, key []). */
export function mapEntries<K extends keyof EntriesOf>(map: BpfMap | undefined, kind: K): EntriesOf[K] {
  return map && map.kind === kind ? ((map as { entries: unknown }).entries as EntriesOf[K]) : [];
}
