/**
 * `check` as JUnit XML for CI systems without step summaries: one testsuite, one testcase per
 * objective; a breach is a <failure> with the measured values and the top causes, an objective that
 * could not be evaluated an <error> (a gate that could not look must not pass silently).
 */
import type { CheckReport } from '../analysis/check-report.js';
import { fmtDuration } from '../util/num.js';
import { fmtWorst } from './check.js';

/** Escape for XML text and attribute values; characters XML 1.0 cannot carry at all are dropped. */
export function xmlEscape(s: string): string {
  return s
    // XML 1.0 allows tab, LF and CR among the control characters, nothing else.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** The check as a JUnit XML document. */
export function renderJunit(r: CheckReport): string {
  const count = (v: string) => r.objectives.filter((o) => o.verdict === v).length;
  const failures = count('breached');
  const errors = count('not-evaluated');
  const suiteName = `p99sleuth check ${r.source.kind === 'prometheus' ? r.source.selector : r.source.path}`;
  const attrs = `name="${xmlEscape(suiteName)}" tests="${r.objectives.length}" failures="${failures}" errors="${errors}" skipped="0" time="0"`;
  const props: Array<[string, string]> = [
    ['slo', r.slo],
    ['window.start', r.window.start],
    ['window.end', r.window.end],
    ['basis', r.basis],
    ['verdict', r.verdict],
  ];
  if (r.requests !== null) props.push(['requests', String(r.requests)]);
  if (r.bundle) props.push(['bundle', r.bundle]);

  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites ${attrs}>`, `  <testsuite ${attrs}>`, '    <properties>'];
  for (const [k, v] of props) out.push(`      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
  out.push('    </properties>');
  for (const o of r.objectives) {
    const open = `    <testcase classname="p99sleuth.slo" name="${xmlEscape(o.objective)}" time="0"`;
    if (o.verdict === 'holds') {
      out.push(`${open}/>`);
      continue;
    }
    const tag = o.verdict === 'breached' ? 'failure' : 'error';
    out.push(`${open}>`, `      <${tag} type="${o.verdict === 'breached' ? 'slo-breached' : 'not-evaluated'}" message="${xmlEscape(o.reason)}">${xmlEscape(details(r, o))}</${tag}>`, '    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

function details(r: CheckReport, o: CheckReport['objectives'][number]): string {
  const lines = [
    o.reason,
    `window ${r.window.start} → ${r.window.end}`,
    `whole window: ${o.windowSeconds === null ? '—' : fmtDuration(o.windowSeconds)}; worst rolling${r.rollingSeconds !== null ? ` (${fmtDuration(r.rollingSeconds)})` : ''}: ${fmtWorst(o)}`,
  ];
  if (o.verdict === 'breached' && r.report) {
    const top = r.report.causes.slice(0, 3);
    if (top.length === 0) lines.push(`No cause found: ${r.report.summary}`);
    else lines.push('Top causes:', ...top.map((c, i) => `#${i + 1} ${c.id} (score ${c.score}, confidence ${c.confidence}): ${c.title}. ${c.reasons[0] ?? ''}`.trim()));
  }
  if (r.bundle) lines.push(`Evidence bundle: ${r.bundle}`);
  return lines.join('\n');
}
