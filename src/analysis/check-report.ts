/**
 * The result of `check`: the JSON contract `p99sleuth/check@1` every check renderer prints from.
 * Deterministic for the same data and flags: no clock readings, objectives in the order given.
 */
import { VERSION } from '../version.js';
import type { Report } from './report.js';
import { overall, type Basis, type Comparator, type Judgement, type Verdict } from './slo.js';

/** Schema name of `check --format json`; bumped only for incompatible changes. */
export const CHECK_SCHEMA = 'p99sleuth/check@1';

/** Where the measurements came from. */
export type CheckSource =
  | { kind: 'prometheus'; url: string; selector: string; latencyMetric: string | null }
  | { kind: 'bundle'; path: string; latencyMetric: string | null };

/** One objective as measured and judged. */
export interface CheckObjective {
  objective: string;
  quantile: number;
  comparator: Comparator;
  thresholdSeconds: number;
  /** Quantile of every request in the window; null when it could not be measured (always for a bundle). */
  windowSeconds: number | null;
  /** Highest value of the rolling quantile in the window, and when (ISO). */
  worstRollingSeconds: number | null;
  worstRollingAt: string | null;
  /** The value the verdict was taken on (per `basis`). */
  valueSeconds: number | null;
  verdict: Verdict;
  reason: string;
}

/** The whole result of `check`. */
export interface CheckReport {
  schema: typeof CHECK_SCHEMA;
  tool: { name: 'p99sleuth'; version: string };
  slo: string;
  source: CheckSource;
  window: { start: string; end: string; seconds: number };
  /** `window`: the quantile over every request in the window; `worst`: the worst rolling value. */
  basis: Basis;
  /** The rate window of the rolling quantile, seconds. */
  rollingSeconds: number | null;
  /** Requests in the window, as counted by the histogram (rounded). */
  requests: number | null;
  verdict: Verdict;
  summary: string;
  objectives: CheckObjective[];
  /** How the check was made and what could not be done, in words. */
  notes: string[];
  /** The bundle investigated after a breach (written from Prometheus, or the one given). */
  bundle: string | null;
  /** The ranked cause report of that bundle, after a breach. */
  report: Report | null;
}

/** What a check found, before it becomes the contract. */
export interface CheckInput {
  slo: string;
  source: CheckSource;
  /** Unix seconds. */
  start: number;
  end: number;
  basis: Basis;
  rollingSeconds?: number;
  requests?: number;
  judgements: Judgement[];
  notes: string[];
  bundle?: string;
  report?: Report;
}

const iso = (t: number) => new Date(t * 1000).toISOString();
const orNull = <T>(x: T | undefined): T | null => (x === undefined ? null : x);

/** The contract from what was measured and judged; the verdict and summary follow from the judgements. */
export function buildCheckReport(c: CheckInput): CheckReport {
  const verdict = overall(c.judgements);
  return {
    schema: CHECK_SCHEMA,
    tool: { name: 'p99sleuth', version: VERSION },
    slo: c.slo,
    source: c.source,
    window: { start: iso(c.start), end: iso(c.end), seconds: Math.round((c.end - c.start) * 1000) / 1000 },
    basis: c.basis,
    rollingSeconds: orNull(c.rollingSeconds),
    requests: c.requests === undefined ? null : Math.round(c.requests),
    verdict,
    summary: summarise(verdict, c.judgements, c.report),
    objectives: c.judgements.map((j) => ({
      objective: j.objective.text,
      quantile: j.objective.quantile,
      comparator: j.objective.comparator,
      thresholdSeconds: j.objective.thresholdSeconds,
      windowSeconds: orNull(j.measured.windowSeconds),
      worstRollingSeconds: orNull(j.measured.worstSeconds),
      worstRollingAt: j.measured.worstAt === undefined ? null : iso(j.measured.worstAt),
      valueSeconds: orNull(j.valueSeconds),
      verdict: j.verdict,
      reason: j.reason,
    })),
    notes: c.notes,
    bundle: orNull(c.bundle),
    report: orNull(c.report),
  };
}

function summarise(verdict: Verdict, js: Judgement[], report: Report | undefined): string {
  const of = (v: Verdict) => js.filter((j) => j.verdict === v).map((j) => j.reason);
  if (verdict === 'holds') return `SLO holds: ${of('holds').join('; ')}.`;
  if (verdict === 'not-evaluated') {
    const unknown = js.filter((j) => j.verdict === 'not-evaluated');
    // The same reason for every objective (no series, unreachable) is said once.
    const reasons = [...new Set(unknown.map((j) => j.reason))];
    return `Could not evaluate ${unknown.map((j) => j.objective.text).join(', ')}: ${reasons.join('; ')}.`;
  }
  const top = report?.causes.slice(0, 2).map((c) => `${c.id} (score ${c.score})`) ?? [];
  const why = !report ? '' : top.length ? ` Likely cause: ${top.join(', then ')}.` : ` No cause found in the evidence: ${report.summary}`;
  return `SLO breached: ${of('breached').join('; ')}.${why}`;
}
