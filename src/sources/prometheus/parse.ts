/**
 * Prometheus HTTP API responses (/api/v1/query and /api/v1/query_range) → typed series. Pure.
 * Format: https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats
 */
import { inputError } from '../../errors.js';

export interface Series {
  labels: Record<string, string>;
  /** [unix seconds, value] pairs in time order; NaN/Inf kept out. */
  points: Array<[number, number]>;
}

export function parsePromResponse(text: string, source: string): Series[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw inputError(`${source}: not JSON (${(err as Error).message})`, 'expected a Prometheus HTTP API response');
  }
  const b = body as { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  if (!b || typeof b !== 'object') throw inputError(`${source}: not a Prometheus API response`);
  if (b.status === 'error') throw inputError(`${source}: Prometheus returned an error: ${b.errorType ?? ''} ${b.error ?? ''}`.trim());
  if (b.status !== 'success' || !b.data || !Array.isArray(b.data.result)) {
    throw inputError(`${source}: not a Prometheus API response (no data.result)`, 'expected {"status":"success","data":{...}}');
  }
  const rt = b.data.resultType;
  const out: Series[] = [];
  for (const r of b.data.result as Array<{ metric?: Record<string, string>; values?: unknown[]; value?: unknown }>) {
    // Checked before use: the rules call string methods on labels and iterate values.
    if (rt !== 'scalar' && rt !== 'string' && (!r || typeof r !== 'object' || Array.isArray(r))) throw inputError(`${source}: malformed series ${JSON.stringify(r)?.slice(0, 100)}`);
    if (r?.metric !== undefined && !isLabels(r.metric)) throw inputError(`${source}: malformed labels ${JSON.stringify(r.metric)?.slice(0, 100)}`);
    const raw = rt === 'matrix' ? (r.values ?? []) : rt === 'vector' ? [r.value] : [];
    if (!Array.isArray(raw)) throw inputError(`${source}: malformed values ${JSON.stringify(raw)?.slice(0, 100)}`);
    const points: Array<[number, number]> = [];
    for (const p of raw) {
      if (!Array.isArray(p) || p.length !== 2) throw inputError(`${source}: malformed sample ${JSON.stringify(p)}`);
      const t = sampleNumber(p[0]);
      const v = sampleNumber(p[1]);
      if (Number.isFinite(t) && Number.isFinite(v)) points.push([t, v]);
    }
    out.push({ labels: r?.metric ?? {}, points });
  }
  if (rt !== 'matrix' && rt !== 'vector' && rt !== 'scalar') {
    throw inputError(`${source}: unsupported result type "${String(rt)}"`);
  }
  return out;
}

function isLabels(m: unknown): m is Record<string, string> {
  return !!m && typeof m === 'object' && !Array.isArray(m) && Object.values(m).every((v) => typeof v === 'string');
}

/** A number or a numeric string; anything else (null, "", true) is NaN, where Number() would say 0. */
function sampleNumber(x: unknown): number {
  if (typeof x === 'number') return x;
  return typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
}

/** Several series for one query are summed per timestamp (our queries aggregate, this is a fallback). */
export function combine(series: Series[]): Array<[number, number]> {
  if (series.length === 1) return series[0].points;
  const byT = new Map<number, number>();
  for (const s of series) for (const [t, v] of s.points) byT.set(t, (byT.get(t) ?? 0) + v);
  return [...byT.entries()].sort((a, b) => a[0] - b[0]);
}

export interface SeriesSummary {
  n: number;
  mean: number;
  min: number;
  max: number;
  first: number;
  last: number;
  /** Least-squares slope per second. */
  slope: number;
}

export function summarise(points: Array<[number, number]>, from?: number, to?: number): SeriesSummary | undefined {
  const pts = points.filter(([t]) => (from === undefined || t >= from) && (to === undefined || t <= to));
  if (pts.length === 0) return undefined;
  let sum = 0, min = Infinity, max = -Infinity, st = 0, stt = 0, sv = 0, stv = 0;
  const t0 = pts[0][0];
  for (const [t0abs, v] of pts) {
    const t = t0abs - t0;
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
    st += t; stt += t * t; sv += v; stv += t * v;
  }
  const n = pts.length;
  const den = n * stt - st * st;
  return {
    n,
    mean: sum / n,
    min,
    max,
    first: pts[0][1],
    last: pts[n - 1][1],
    slope: den > 0 ? (n * stv - st * sv) / den : 0,
  };
}
