/**
 * Latency SLOs for `check`: the grammar (`p99<300ms,p50<=50ms`) and the judgement of one objective
 * against what was measured. Pure.
 */
import { usageError } from '../errors.js';
import { fmtDuration } from '../util/num.js';

/** `<` holds below the limit only, `<=` at the limit too. */
export type Comparator = '<' | '<=';

/** One latency objective, e.g. p99 < 300 ms. */
export interface Objective {
  /** Normalised text, e.g. `p99<300ms`. */
  text: string;
  /** `p99`, `p99.9`. */
  label: string;
  /** 0 < quantile < 1, e.g. 0.99. */
  quantile: number;
  comparator: Comparator;
  thresholdSeconds: number;
}

/** Which measurement a verdict is taken on: the quantile of every request in the window, or the worst rolling value. */
export type Basis = 'window' | 'worst';
/** The --basis choices. */
export const BASES: readonly Basis[] = ['window', 'worst'];

/** What could be measured for one objective; `missing` says why nothing could. */
export interface Measurement {
  /** The quantile over every request in the window (from the histogram's increase over it). */
  windowSeconds?: number;
  /** The highest value of the rolling quantile series in the window, and when. */
  worstSeconds?: number;
  worstAt?: number;
  missing?: string;
}

/** Of one objective, and of the whole check. */
export type Verdict = 'holds' | 'breached' | 'not-evaluated';

/** One objective judged: the verdict and the reason in words. */
export interface Judgement {
  objective: Objective;
  measured: Measurement;
  /** The value the verdict was taken on (per the basis), when there is one. */
  valueSeconds?: number;
  verdict: Verdict;
  reason: string;
}

/** The grammar, shown with every --slo usage error. */
export const SLO_GRAMMAR =
  "objectives are pNN<DURATION or pNN<=DURATION, separated by commas, e.g. --slo 'p99<300ms' or --slo 'p99<300ms,p50<=50ms' (quantiles such as p50, p90, p95, p99, p99.9; units ns, us, ms, s)";

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1 };
const OBJECTIVE = /^p(\d+(?:\.\d+)?)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)$/i;

/** `p99<300ms,p50<=50ms` → objectives in the order given; anything else is a usage error showing the grammar. */
export function parseSlo(text: string): Objective[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) throw usageError('--slo is empty', SLO_GRAMMAR);
  return parts.map((part) => {
    const m = OBJECTIVE.exec(part);
    if (!m) throw usageError(`--slo: ${JSON.stringify(part)} is not a latency objective`, SLO_GRAMMAR);
    const percent = Number(m[1]);
    if (!(percent > 0 && percent < 100)) throw usageError(`--slo: ${JSON.stringify(part)}: the percentile must be between 0 and 100 (exclusive)`, SLO_GRAMMAR);
    const unit = m[4].toLowerCase();
    const thresholdSeconds = Number(m[3]) * UNIT_SECONDS[unit];
    if (!(thresholdSeconds > 0)) throw usageError(`--slo: ${JSON.stringify(part)}: the limit must be above zero`, SLO_GRAMMAR);
    // 99.9 / 100 is 0.9990000000000001 in binary floating point; PromQL and JSON should read 0.999.
    const quantile = Number((percent / 100).toPrecision(12));
    const label = `p${String(percent)}`;
    return { text: `${label}${m[2]}${m[3]}${unit}`, label, quantile, comparator: m[2] as Comparator, thresholdSeconds };
  });
}

const BASIS_WORDS: Record<Basis, string> = { window: 'over the whole window', worst: 'at its worst rolling value' };

/** Judge one objective on the measurement the basis names. Nothing measured is "not evaluated", never a pass. */
export function judge(objective: Objective, measured: Measurement, basis: Basis): Judgement {
  if (measured.missing) return { objective, measured, verdict: 'not-evaluated', reason: measured.missing };
  const value = basis === 'window' ? measured.windowSeconds : measured.worstSeconds;
  if (value === undefined || !Number.isFinite(value)) {
    return { objective, measured, verdict: 'not-evaluated', reason: `no ${objective.label} value ${BASIS_WORDS[basis]}` };
  }
  const holds = objective.comparator === '<' ? value < objective.thresholdSeconds : value <= objective.thresholdSeconds;
  const relation = holds ? objective.comparator === '<' ? '<' : '≤' : objective.comparator === '<' ? '≥' : '>';
  return {
    objective,
    measured,
    valueSeconds: value,
    verdict: holds ? 'holds' : 'breached',
    reason: `${objective.label} ${fmtDuration(value)} ${relation} ${fmtDuration(objective.thresholdSeconds)} ${BASIS_WORDS[basis]}`,
  };
}

/** The check's verdict: any breach is a breach; otherwise anything not evaluated means the check could not be made. */
export function overall(judgements: readonly Judgement[]): Verdict {
  if (judgements.some((j) => j.verdict === 'breached')) return 'breached';
  if (judgements.length === 0 || judgements.some((j) => j.verdict === 'not-evaluated')) return 'not-evaluated';
  return 'holds';
}
