/** Markdown report for PR comments and CI summaries. */
import type { Report } from '../analysis/report.js';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: Report): string {
  const out: string[] = [];
  out.push(`## p99sleuth: ${r.verdict}`, '');
  out.push(r.summary, '');
  out.push(`Target: ${r.bundle.target}${r.bundle.complete ? '' : ' — **partial bundle**'}  `);
  out.push(`Spike: ${r.bundle.windows.spike.start} → ${r.bundle.windows.spike.end}${r.bundle.windows.baseline ? `; baseline: ${r.bundle.windows.baseline.start} → ${r.bundle.windows.baseline.end}` : ''}`, '');
  if (r.causes.length) {
    out.push('| # | cause | level | score | confidence |', '|---|---|---|---|---|');
    r.causes.forEach((c, i) => out.push(`| ${i + 1} | \`${c.id}\` | ${c.level} | ${c.score.toFixed(2)} | ${c.confidence} |`));
    out.push('');
    for (const c of r.causes) {
      out.push(`### \`${c.id}\` — ${c.title}`, '');
      for (const reason of c.reasons) out.push(`- ${reason}`);
      if (c.missing.length) out.push(`- _Not available:_ ${c.missing.join('; ')}`);
      out.push('', '**Remedies**', '');
      for (const rem of c.remedies) out.push(`- ${rem}`);
      if (c.flamegraphs.length) out.push('', `Flame graphs: ${c.flamegraphs.map((f) => `\`${f}\``).join(', ')}`);
      out.push('');
    }
  }
  out.push('<details><summary>Decision flow</summary>', '', '| level | check | verdict | detail |', '|---|---|---|---|');
  for (const s of r.walk) out.push(`| ${s.level} | ${esc(s.cause ?? s.check)} | ${s.verdict} | ${esc(s.detail)} |`);
  out.push('', '</details>', '');
  out.push('<details><summary>Collectors</summary>', '', '| collector | window | status | message |', '|---|---|---|---|');
  for (const c of r.collectors) out.push(`| ${c.name} | ${c.window ?? ''} | ${c.status} | ${esc(c.message ?? '')} |`);
  out.push('', '</details>', '');
  return out.join('\n');
}
