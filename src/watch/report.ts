/**
 * The analysis of a spike bundle, written into `<bundle>/report` (report.json, report.md, flame
 * graphs) without touching stdout, which `watch` keeps for its event lines.
 */
import path from 'node:path';
import type { Report } from '../analysis/report.js';
import { writeReport } from '../cli/report-run.js';
import { openBundle } from '../evidence/bundle.js';
import { loadEvidence } from '../evidence/load.js';

const quiet = { info: () => undefined, debug: () => undefined };

/** Analyse `dir` like `analyze` and write the report files into `<dir>/report`. */
export async function writeBundleReport(dir: string, flamegraphs: boolean): Promise<Report> {
  const ev = await loadEvidence(await openBundle(dir));
  return writeReport(ev, { out: path.join(dir, 'report'), flamegraphs, copies: true }, quiet);
}
