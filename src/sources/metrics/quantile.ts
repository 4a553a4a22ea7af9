/**
 * The P99 of an interval from two readings of a cumulative histogram: the quantile of the bucket
 * increases, interpolated linearly inside the bucket exactly like PromQL's histogram_quantile
 * (promql/quantile.go: the first bucket starts at 0; a rank in +Inf answers the highest finite bound).
 */
import type { Bucket } from './parse.js';

/** Per-bucket increase from `prev` to `cur`; a counter reset (any bucket went down) restarts from zero. */
export function bucketIncrease(prev: Bucket[] | undefined, cur: Bucket[]): Bucket[] {
  if (!prev) return cur;
  const before = new Map(prev.map((b) => [b.le, b.count]));
  const reset = cur.some((b) => (before.get(b.le) ?? 0) > b.count);
  return cur.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (before.get(b.le) ?? 0) }));
}

/** Quantile `q` (0–1) in seconds of cumulative buckets; undefined when they count no request. */
export function histogramQuantile(q: number, buckets: Bucket[]): number | undefined {
  if (buckets.length < 2 || buckets[buckets.length - 1].le !== Infinity) return undefined;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  // The first bucket whose cumulative count reaches the rank holds the quantile.
  const i = buckets.findIndex((b) => b.count >= rank);
  if (i === buckets.length - 1) return buckets[buckets.length - 2].le;
  const upper = buckets[i].le;
  const lower = i === 0 ? (upper > 0 ? 0 : upper) : buckets[i - 1].le;
  const below = i === 0 ? 0 : buckets[i - 1].count;
  const inBucket = buckets[i].count - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/** Requests counted by cumulative buckets (the +Inf bucket). */
export const requestCount = (buckets: Bucket[]) => buckets[buckets.length - 1]?.count ?? 0;
