/** The report: the JSON contract `p99sleuth/report@1` every renderer prints from. */
import type { Evidence } from '../evidence/model.js';
import type { CollectorStatus, WindowName } from '../evidence/manifest.js';
import { VERSION } from '../version.js';
import { CATALOGUE, type CauseId, type Level } from './catalogue.js';
import type { EvidenceRef } from './finding.js';
import type { Analysis, LatencySummary, WalkStep } from './flow.js';
import type { Confidence } from './rank.js';

export const REPORT_SCHEMA = 'p99sleuth/report@1';

export interface ReportCause {
  id: CauseId;
  level: Level;
  score: number;
  confidence: Confidence;
  title: string;
  reasons: string[];
  evidence: EvidenceRef[];
  /** Evidence that was not available and would have made this surer. */
  missing: string[];
  remedies: string[];
  /** Flame graph files (relative to the output directory) that highlight this cause. */
  flamegraphs: string[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: 'p99sleuth'; version: string };
  bundle: { path: string; complete: boolean; target: string; windows: Evidence['manifest']['windows'] };
  verdict: Analysis['verdict'];
  summary: string;
  latency?: LatencySummary;
  causes: ReportCause[];
  walk: WalkStep[];
  collectors: Array<{ name: string; window?: WindowName; status: CollectorStatus; message?: string; artifacts: string[] }>;
  /** Evidence that could not be used (failed collectors, partial capture). */
  gaps: string[];
  /** Files written for this report (flame graphs, folded stacks). */
  files: string[];
}

export function buildReport(ev: Evidence, a: Analysis, flamegraphs: Partial<Record<CauseId, string[]>> = {}, files: string[] = []): Report {
  return {
    schema: REPORT_SCHEMA,
    tool: { name: 'p99sleuth', version: VERSION },
    bundle: { path: ev.dir, complete: ev.manifest.complete, target: ev.manifest.target.description, windows: ev.manifest.windows },
    verdict: a.verdict,
    summary: a.summary,
    latency: a.latency,
    causes: a.reported.map((r) => ({
      id: r.id,
      level: CATALOGUE[r.id].level,
      score: r.score,
      confidence: r.confidence,
      title: CATALOGUE[r.id].title,
      reasons: r.reasons,
      evidence: r.evidence,
      missing: r.missing,
      remedies: CATALOGUE[r.id].remedies,
      flamegraphs: flamegraphs[r.id] ?? [],
    })),
    walk: a.walk,
    collectors: ev.manifest.collectors.map((c) => ({ name: c.name, window: c.window, status: c.status, message: c.message, artifacts: c.artifacts })),
    gaps: ev.gaps,
    files,
  };
}
