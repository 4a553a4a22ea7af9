/** The one analysis path shared by analyze, demo and (later) investigate: bundle → report on stdout. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { analyse } from '../analysis/flow.js';
import { buildReport, type Report } from '../analysis/report.js';
import { openBundle } from '../evidence/bundle.js';
import { loadEvidence } from '../evidence/load.js';
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
}

export async function reportOnBundle(dir: string, opts: ReportOptions, log: Logger): Promise<Report> {
  log.info(`reading bundle ${dir}`);
  const bundle = await openBundle(dir);
  const ev = await loadEvidence(bundle);
  const analysis = analyse(ev);
  let graphs: Awaited<ReturnType<typeof writeFlameGraphs>> = { files: [], byCause: {} };
  if (opts.flamegraphs) {
    log.info(`writing flame graphs to ${opts.out}`);
    graphs = await writeFlameGraphs(ev, analysis, opts.out);
  }
  const report = buildReport(ev, analysis, graphs.byCause, graphs.files);
  const json = JSON.stringify(report, null, 2) + '\n';
  if (opts.flamegraphs) {
    // Keep machine- and human-readable copies beside the graphs, for sharing the whole directory.
    for (const [name, data] of [['report.json', json], ['report.md', renderMarkdown(report)]] as const) {
      const file = path.join(opts.out, name);
      await writeFile(file, data, { mode: 0o600 }).catch((err: Error) => {
        throw new SleuthError('io', `cannot write ${file}: ${err.message}`, 'check free space and permissions of --out');
      });
      report.files.push(file);
    }
  }
  const text = opts.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : opts.format === 'markdown' ? renderMarkdown(report) : renderTerminal(report, { color: opts.color });
  process.stdout.write(text);
  return report;
}
