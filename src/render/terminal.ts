/** The terminal report: readable without colour, fits 80 columns. */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Report } from '../analysis/report.js';
import type { StepVerdict } from '../analysis/flow.js';
import { wrap } from './text.js';

const WIDTH = 80;

export function renderTerminal(r: Report, opts: { color: boolean }): string {
  const c: ChalkInstance = new Chalk({ level: opts.color ? 1 : 0 });
  const out: string[] = [];
  const head = (s: string) => c.bold(s);
  out.push(head(`p99sleuth ${r.tool.version}`) + ` — ${r.bundle.target}`);
  out.push(wrap(`bundle ${r.bundle.path}${r.bundle.complete ? '' : ' (PARTIAL: capture did not finish)'}`, WIDTH, '  ', ''));
  const w = r.bundle.windows;
  out.push(`spike    ${w.spike.start} → ${w.spike.end}`);
  if (w.baseline) out.push(`baseline ${w.baseline.start} → ${w.baseline.end}`);
  out.push('');
  const vcol = r.verdict === 'cause-found' ? c.red : r.verdict === 'no-cause-found' ? c.green : c.yellow;
  out.push(head('VERDICT ') + vcol.bold(r.verdict));
  out.push(wrap(r.summary, WIDTH));
  out.push('');

  r.causes.forEach((cause, i) => {
    out.push(c.bold(`#${i + 1} ${cause.id}`) + `  ${cause.level}  score ${cause.score.toFixed(2)}  confidence ${cause.confidence}`);
    out.push(wrap(cause.title, WIDTH, '   '));
    out.push('   Why:');
    for (const reason of cause.reasons) out.push(wrap(reason, WIDTH, '     ', '   - '));
    if (cause.missing.length) out.push(wrap(`Not available: ${cause.missing.join('; ')}`, WIDTH, '     ', '   '));
    out.push('   Evidence:');
    for (const e of cause.evidence.slice(0, 6)) out.push(wrap(`${e.artifact} — ${e.note}`, WIDTH, '       ', '   - '));
    if (cause.evidence.length > 6) out.push(`     … ${cause.evidence.length - 6} more in --format json`);
    out.push('   Remedies:');
    for (const rem of cause.remedies) out.push(wrap(rem, WIDTH, '     ', '   - '));
    if (cause.flamegraphs.length) out.push(wrap(`Flame graphs: ${cause.flamegraphs.join(', ')}`, WIDTH, '     ', '   '));
    out.push('');
  });

  out.push(head('Decision flow') + c.dim('  (user-space → kernel → hardware)'));
  const mark: Record<StepVerdict, string> = { found: c.red('found'), weak: c.yellow('weak'), clear: c.green('clear'), 'not-observed': c.dim('not observed'), descend: c.cyan('↓') };
  for (const s of r.walk) {
    if (s.verdict === 'descend') {
      out.push(wrap(`↓ ${s.level}: ${s.detail}`, WIDTH, '    ', '  '));
      continue;
    }
    const label = `${s.level.padEnd(10)} ${s.cause ?? s.check}`;
    out.push(`  ${label.padEnd(44)} ${mark[s.verdict]}`);
    if (s.verdict === 'found' || s.verdict === 'weak' || s.level === 'latency') out.push(wrap(s.detail, WIDTH, '      '));
  }
  out.push('');
  out.push(head('Collectors'));
  for (const col of r.collectors) {
    const st = col.status === 'ok' ? c.green('ok') : col.status === 'failed' ? c.red('failed') : c.yellow(col.status);
    out.push(wrap(`${st} ${col.name}${col.window ? ` (${col.window})` : ''}${col.message ? ` — ${col.message}` : ''}`, WIDTH, '      ', '  '));
  }
  if (r.gaps.length) {
    out.push('');
    out.push(head('Gaps'));
    for (const g of r.gaps) out.push(wrap(g, WIDTH, '    ', '  - '));
  }
  if (r.files.length) {
    out.push('');
    out.push(head('Files written'));
    for (const f of r.files) out.push(`  ${f}`);
  }
  return out.join('\n') + '\n';
}
