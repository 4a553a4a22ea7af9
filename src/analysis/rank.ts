/** Deterministic scoring: effect size and agreement of independent evidence, discounted for gaps. */
import { clamp01, round } from '../util/num.js';
import type { Finding } from './finding.js';

/** Causes scoring below this are not reported. */
export const REPORT_THRESHOLD = 0.35;

export type Confidence = 'high' | 'medium' | 'low';

export interface Ranked extends Finding {
  score: number;
  confidence: Confidence;
}

export function score(f: Finding): number {
  // How much it explains, times how sure we are: one source agreeing gives 0.5, two 0.75, three
  // 0.875 (independent evidence compounds); a cause that explains little is never reported.
  const agreement = 1 - 0.5 ** f.support.length;
  const s = clamp01(f.effect) * (0.6 + 0.4 * agreement) * 0.95 ** f.missing.length;
  return round(clamp01(s), 3);
}

export function confidence(score: number, sources: number): Confidence {
  if (score >= 0.65 && sources >= 2) return 'high';
  if (score >= 0.45) return 'medium';
  return 'low';
}

/** Highest score first; ties broken by id so output is stable. */
export function rank(findings: Finding[]): Ranked[] {
  return findings
    .map((f) => {
      const s = score(f);
      return { ...f, score: s, confidence: confidence(s, f.support.length) };
    })
    .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}
