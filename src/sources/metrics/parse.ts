/**
 * The Prometheus text exposition format (and OpenMetrics text), as a Go service serves it on
 * /metrics: only what watch needs, one histogram's cumulative `_bucket` counters summed by `le`
 * across its series (like `sum by (le)`). Pure: text in, buckets out.
 * Spec: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import { inputError } from '../../errors.js';

/** One cumulative bucket: requests that took at most `le` seconds (Infinity for `+Inf`). */
export interface Bucket {
  le: number;
  count: number;
}

/** A histogram summed over its series, buckets ordered by `le`, the last one `+Inf`. */
export interface Histogram {
  metric: string;
  buckets: Bucket[];
  /** How many label sets were summed. */
  series: number;
}

// name{labels} value [timestamp] [# exemplar]; label values may hold escaped quotes and braces.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

const unescape = (v: string) => v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Parse a label list body (`a="x",b="y"`) into a map. */
export function parseLabels(body: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!body) return out;
  for (const m of body.matchAll(LABEL)) out.set(m[1], unescape(m[2]));
  return out;
}

/** Exposition-format numbers: Go's strconv forms plus `+Inf`, `-Inf`, `NaN`. */
function number(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * The histogram `metric` (without `_bucket`) in `text`, summed by `le`; series whose labels do not
 * all equal `match` are left out. Undefined when the text has no such series.
 */
export function parseHistogram(text: string, metric: string, source: string, match: Record<string, string> = {}): Histogram | undefined {
  const byLe = new Map<number, number>();
  const seen = new Set<string>();
  const bucketName = `${metric}_bucket`;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith(bucketName)) continue; // comments, other metrics
    const m = SAMPLE.exec(line);
    if (!m || m[1] !== bucketName) continue;
    const labels = parseLabels(m[2]);
    const leText = labels.get('le');
    if (leText === undefined) throw inputError(`${source}: ${bucketName} sample without an "le" label: ${line.slice(0, 200)}`);
    const le = number(leText);
    const count = number(m[3]);
    if (Number.isNaN(le) || Number.isNaN(count) || count < 0) throw inputError(`${source}: unreadable ${bucketName} sample: ${line.slice(0, 200)}`);
    if (Object.entries(match).some(([k, v]) => labels.get(k) !== v)) continue;
    labels.delete('le');
    seen.add([...labels].sort().map(([k, v]) => `${k}=${v}`).join(','));
    byLe.set(le, (byLe.get(le) ?? 0) + count);
  }
  if (byLe.size === 0) return undefined;
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  if (buckets[buckets.length - 1].le !== Infinity) throw inputError(`${source}: ${bucketName} has no le="+Inf" bucket`, 'the exposition is truncated or not a Prometheus histogram');
  return { metric, buckets, series: seen.size };
}

/** The histograms (names without `_bucket`) that `text` declares with `# TYPE … histogram`. */
export function histogramNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) histogram\s*$/gm)) names.push(m[1]);
  return names;
}
