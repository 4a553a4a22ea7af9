/** `check` results for the terminal and for Markdown (CI step summaries, PR comments). */
import { Chalk } from 'chalk';
import type { CheckObjective, CheckReport } from '../analysis/check-report.js';
import type { Basis, Verdict } from '../analysis/slo.js';
import { fmtDuration } from '../util/num.js';
import { renderMarkdown } from './markdown.js';
import { renderTerminal } from './terminal.js';
import { wrap } from './text.js';

const WIDTH = 80;

const VERDICT_WORDS: Record<Verdict, string> = { holds: 'holds', breached: 'BREACHED', 'not-evaluated': 'NOT EVALUATED' };
const BASIS_WORDS: Record<Basis, string> = {
  window: 'the quantile of every request in the window (histogram increase over the whole window)',
  worst: 'the worst value of the rolling quantile in the window',
};

const fmtSec = (s: number | null) => (s === null ? '—' : fmtDuration(s));
/** `41.4 ms at 2026-…Z`, or `—`. */
export const fmtWorst = (o: CheckObjective) => (o.worstRollingSeconds === null ? '—' : `${fmtDuration(o.worstRollingSeconds)}${o.worstRollingAt ? ` at ${o.worstRollingAt}` : ''}`);
/** `p99 < 300 ms`. */
const objectiveWords = (o: CheckObjective) => `${/^p[\d.]+/.exec(o.objective)?.[0] ?? o.objective} ${o.comparator === '<' ? '<' : '≤'} ${fmtDuration(o.thresholdSeconds)}`;

function sourceLine(r: CheckReport): string {
  const s = r.source;
  const metric = s.latencyMetric ? ` (${s.latencyMetric})` : '';
  return s.kind === 'prometheus' ? `prometheus ${s.url} ${s.selector}${metric}` : `bundle ${s.path}${metric}`;
}

function windowLine(r: CheckReport): string {
  return `${r.window.start} → ${r.window.end} (${fmtDuration(r.window.seconds)})${r.requests !== null ? `, ${r.requests} requests` : ''}`;
}

/** The check for a terminal (80 columns, colour optional), the cause report after it on a breach. */
export function renderCheckTerminal(r: CheckReport, opts: { color: boolean }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const paint: Record<Verdict, (s: string) => string> = { holds: c.green, breached: c.red.bold, 'not-evaluated': c.yellow.bold };
  const out: string[] = [];
  out.push(`${c.bold('p99sleuth check')} — SLO ${paint[r.verdict](VERDICT_WORDS[r.verdict])}`);
  const field = (label: string, value: string) => wrap(value, WIDTH, ' '.repeat(8), label.padEnd(8));
  out.push(field('source', sourceLine(r)), field('window', windowLine(r)), field('basis', BASIS_WORDS[r.basis]), '');
  const indent = ' '.repeat(14);
  for (const o of r.objectives) {
    out.push(`${paint[o.verdict](VERDICT_WORDS[o.verdict].padEnd(13))} ${c.bold(objectiveWords(o))}`);
    // A bundle has no whole-window value at all: say nothing rather than a dash on every line.
    if (r.source.kind === 'prometheus') out.push(`${indent}whole window   ${fmtSec(o.windowSeconds)}`);
    out.push(`${indent}worst rolling  ${fmtWorst(o)}${r.rollingSeconds !== null && o.worstRollingSeconds !== null ? ` (${fmtDuration(r.rollingSeconds)} rate)` : ''}`);
    if (o.verdict === 'not-evaluated') out.push(wrap(o.reason, WIDTH, indent));
  }
  out.push('');
  out.push(wrap(r.summary, WIDTH));
  if (r.notes.length) {
    out.push('', c.bold('Notes'));
    for (const n of r.notes) out.push(wrap(n, WIDTH, '    ', '  - '));
  }
  if (r.report) {
    out.push('', c.bold(`Investigation of ${r.bundle ?? r.report.bundle.path}`), '');
    out.push(renderTerminal(r.report, opts).trimEnd());
  }
  return out.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The check as Markdown: verdict, a table of objectives, then the cause report one heading level down. */
export function renderCheckMarkdown(r: CheckReport): string {
  const out: string[] = [];
  const word: Record<Verdict, string> = { holds: 'SLO holds', breached: 'SLO breached', 'not-evaluated': 'SLO could not be evaluated' };
  out.push(`## p99sleuth check: ${word[r.verdict]}`, '');
  out.push(r.summary, '');
  out.push(`Source: ${esc(sourceLine(r))}  `);
  out.push(`Window: ${windowLine(r)}  `);
  out.push(`Verdict on ${BASIS_WORDS[r.basis]}.`, '');
  out.push(`| objective | whole window | worst rolling${r.rollingSeconds !== null ? ` (${fmtDuration(r.rollingSeconds)})` : ''} | verdict |`, '|---|---|---|---|');
  for (const o of r.objectives) {
    const v = o.verdict === 'holds' ? 'holds' : `**${o.verdict}**`;
    out.push(`| \`${o.objective}\` | ${fmtSec(o.windowSeconds)} | ${fmtWorst(o)} | ${v}${o.verdict === 'not-evaluated' ? `: ${esc(o.reason)}` : ''} |`);
  }
  out.push('');
  if (r.notes.length) {
    for (const n of r.notes) out.push(`- ${esc(n)}`);
    out.push('');
  }
  if (r.report) {
    // One heading level down: the cause report is a section of the check.
    out.push(renderMarkdown(r.report).replace(/^(#+) /gm, '#$1 '));
  }
  return out.join('\n') + (out[out.length - 1] === '' ? '' : '\n');
}
