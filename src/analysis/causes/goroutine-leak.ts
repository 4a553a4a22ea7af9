/**
 * goroutine-leak: goroutines outside request handling pile up and never finish. A leak often starts
 * long before latency suffers, so the baseline window may already be leaking: the evidence is the
 * steady rise and one kind of goroutine dominating, more than the ratio to the baseline.
 */
import { fmtNum, fmtPct } from '../../util/num.js';
import { exact, growth, metricRef, refs, type Finding, type Rule } from '../finding.js';

export const goroutineLeak: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const frames: RegExp[] = [];

  // The count: up from the baseline and still rising through the spike window.
  const ms = f.spike.metrics.goroutines, mb = f.baseline?.metrics.goroutines;
  const rising = !!ms && ms.slope > 0 && ms.last - ms.first >= 0.1 * ms.mean && ms.last - ms.first >= 50;
  if (ms && mb && ms.mean >= 1.5 * mb.mean && ms.mean - mb.mean >= 200 && ms.last >= ms.first) {
    support.push('go_goroutines');
    reasons.push(`Goroutines grew from ${fmtNum(mb.mean)} (baseline) to ${fmtNum(ms.mean)} (spike)${rising ? ` and are still rising (+${fmtNum(ms.slope)}/s)` : ', not coming down'}.`);
    effect = Math.max(effect, growth(ms.mean, mb.mean, 20));
    evidence.push(...metricRef(ev, 'goroutines', 'goroutine count'));
  } else if (!ms) missing.push('go_goroutines');

  // Who they are: one start function holding most goroutines outside request handling, and growing
  // either against the baseline or across the spike window's own snapshots. The second needs no
  // baseline at all, which matters because a leak often began before the baseline window.
  const gs = f.spike.goroutines, gb = f.baseline?.goroutines;
  if (gs) {
    const [topFn, n] = [...gs.outsideRequestByStart.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const before = gb ? gb.outsideRequestByStart.get(topFn) ?? 0 : mb ? Math.min(mb.mean, n) : undefined;
    const dominance = gs.total > 0 ? n / gs.total : 0;
    const t = gs.trendByStart?.get(topFn);
    const climbing = !!t && t.slope > 0 && t.steadiness >= 0.7 && t.last - t.first >= Math.max(20, 0.02 * n);
    const grewFromBefore = before !== undefined && n - before >= 200 && n >= 1.5 * Math.max(before, 1);
    if (n >= 200 && dominance >= 0.5 && (grewFromBefore || climbing || (before === undefined && rising))) {
      support.push('goroutine profile');
      const why: string[] = [];
      if (before !== undefined && grewFromBefore) why.push(`up from ${fmtNum(before)}${gb ? '' : ' at most'} in the baseline`);
      if (climbing) why.push(`climbing from ${fmtNum(t!.first)} to ${fmtNum(t!.last)} during the capture (+${fmtNum(t!.slope)}/s)`);
      reasons.push(`${fmtNum(n)} goroutines (${fmtPct(dominance)} of all) started at ${topFn}${why.length ? `, ${why.join(' and ')}` : ''}.`);
      // Most of the process is one kind of goroutine that keeps piling up: the leak dominates.
      effect = Math.max(effect, dominance * (rising || climbing ? 1 : 0.7));
      evidence.push(...refs(ev, 'goroutine', 'goroutines by start function'));
      frames.push(exact(topFn));
    }
    if (!gb) missing.push('baseline goroutine profile');
  } else missing.push('goroutine profile');

  if (support.length === 0) return null;
  // With profiles in hand, growth that is not one kind of goroutine outside requests is no leak
  // (in-flight requests also raise the count when latency rises).
  if (gs && !support.includes('goroutine profile')) return null;
  return { id: 'goroutine-leak', effect, support, reasons, evidence, missing, frames, profiles: ['goroutine'] };
};
