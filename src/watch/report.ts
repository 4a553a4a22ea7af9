/**
 * The analysis of a spike bundle, written into `<bundle>/report` (report.json, report.md, flame
 * graphs) without touching stdout, which `watch` keeps for its event lines.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { analyse } from '../analysis/flow.js';
import { buildReport, type Report } from '../analysis/report.js';
import { openBundle } from '../evidence/bundle.js';
import { loadEvidence } from '../evidence/load.js';
import { SleuthError } from '../errors.js';
import { writeFlameGraphs } from '../render/flamegraphs.js';
import { renderMarkdown } from '../render/markdown.js';

/** Analyse `dir` like `analyze` and write the report files into `<dir>/report`. */
export async function writeBundleReport(dir: string, flamegraphs: boolean): Promise<Report> {
  const ev = await loadEvidence(await openBundle(dir));
  const a = analyse(ev);
  const out = path.join(dir, 'report');
  const graphs = flamegraphs ? await writeFlameGraphs(ev, a, out) : { files: [], byCause: {} };
  const report = buildReport(ev, a, graphs.byCause, graphs.files);
  await mkdir(out, { recursive: true, mode: 0o700 });
  for (const [name, data] of [['report.json', JSON.stringify(report, null, 2) + '\n'], ['report.md', renderMarkdown(report)]] as const) {
    await writeFile(path.join(out, name), data, { mode: 0o600 }).catch((err: Error) => {
      throw new SleuthError('io', `cannot write ${path.join(out, name)}: ${err.message}`, 'check free space and permissions of --out-dir');
    });
  }
  return report;
}
