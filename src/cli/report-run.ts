/** The one analysis path shared by analyze, demo and (later) investigate: bundle → report on stdout. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { analyse } from '../analysis/flow.js';
import { buildReport, type Report } from '../analysis/report.js';
import { openBundle } from '../evidence/bundle.js';
import { loadEvidence } from '../evidence/load.js';
import type { Evidence } from '../evidence/model.js';
import { SleuthError } from '../errors.js';
import { writeFlameGraphs } from '../render/flamegraphs.js';
import { renderMarkdown } from '../render/markdown.js';
import { renderTerminal } from '../render/terminal.js';
import type { Logger } from '../ui/log.js';

export type Format = 'text' | 'json' | 'markdown';
export const FORMATS: readonly Format[] = ['text', 'json', 'markdown'];

export interface ReportOptions {
  format: Format;
  out: string;
  color: boolean;
  flamegraphs: boolean;
  /** Write the rendered report to stdout (default); off when the caller combines several. */
  print?: boolean;
}

/**
 * Analyse evidence, draw the flame graphs into `out`, and keep report.json and report.md beside them
 * (for sharing the whole directory). One path for analyze, investigate, watch and check.
 */
export async function writeReport(ev: Evidence, o: { out?: string; flamegraphs: boolean; copies: boolean }, log: Logger): Promise<Report> {
  const analysis = analyse(ev);
  let graphs: Awaited<ReturnType<typeof writeFlameGraphs>> = { files: [], byCause: {} };
  if (o.flamegraphs && o.out) {
    log.info(`writing flame graphs to ${o.out}`);
    graphs = await writeFlameGraphs(ev, analysis, o.out);
  }
  const report = buildReport(ev, analysis, graphs.byCause, graphs.files);
  if (o.copies && o.out) {
    await mkdir(o.out, { recursive: true, mode: 0o700 }).catch(() => undefined);
    for (const [name, data] of [['report.json', JSON.stringify(report, null, 2) + '\n'], ['report.md', renderMarkdown(report)]] as const) {
      const file = path.join(o.out, name);
      await writeFile(file, data, { mode: 0o600 }).catch((err: Error) => {
        throw new SleuthError('io', `cannot write ${file}: ${err.message}`, 'check free space and permissions of the output directory');
      });
      report.files.push(file);
    }
  }
  return report;
}

export async function reportOnBundle(dir: string, opts: ReportOptions, log: Logger): Promise<Report> {
  log.info(`reading bundle ${dir}`);
  const ev = await loadEvidence(await openBundle(dir));
  const report = await writeReport(ev, { out: opts.out, flamegraphs: opts.flamegraphs, copies: opts.flamegraphs }, log);
  const text = opts.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : opts.format === 'markdown' ? renderMarkdown(report) : renderTerminal(report, { color: opts.color });
  if (opts.print !== false) process.stdout.write(text);
  return report;
}
