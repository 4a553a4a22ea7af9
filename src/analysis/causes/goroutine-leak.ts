/** goroutine-leak: goroutines outside request handling pile up and never finish. */
import { fmtNum, fmtPct } from '../../util/num.js';
import { exact, growth, metricRef, refs, type Finding, type Rule } from '../finding.js';

export const goroutineLeak: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const frames: RegExp[] = [];

  const ms = f.spike.metrics.goroutines, mb = f.baseline?.metrics.goroutines;
  if (ms && mb && ms.mean >= 2 * mb.mean && ms.mean - mb.mean >= 200 && ms.last >= ms.first) {
    support.push('go_goroutines');
    reasons.push(`Goroutines grew from ${fmtNum(mb.mean)} (baseline) to ${fmtNum(ms.mean)} (spike) and are still ${ms.slope > 0 ? `rising (+${fmtNum(ms.slope)}/s)` : 'not coming down'}.`);
    effect = Math.max(effect, growth(ms.mean, mb.mean, 50));
    evidence.push(...metricRef(ev, 'goroutines', 'goroutine count'));
  } else if (!ms) missing.push('go_goroutines');

  const gs = f.spike.goroutines, gb = f.baseline?.goroutines;
  if (gs && gb) {
    const grew = gs.outsideRequest - gb.outsideRequest;
    if (grew >= 200 && gs.outsideRequest >= 2 * gb.outsideRequest) {
      // Who started them: the start function that accounts for most of the growth.
      const growthBy = [...gs.outsideRequestByStart.entries()]
        .map(([fn, n]) => ({ fn, d: n - (gb.outsideRequestByStart.get(fn) ?? 0) }))
        .sort((a, b) => b.d - a.d);
      const topFn = growthBy[0];
      if (topFn && topFn.d >= 0.5 * grew) {
        support.push('goroutine profile');
        reasons.push(`Goroutines outside request handling grew by ${fmtNum(grew)} (${fmtNum(gb.outsideRequest)} → ${fmtNum(gs.outsideRequest)}); ${fmtPct(topFn.d / grew)} of them started at ${topFn.fn}.`);
        effect = Math.max(effect, growth(gs.outsideRequest, gb.outsideRequest, 50));
        evidence.push(...refs(ev, 'goroutine', 'goroutines by start function'));
        frames.push(exact(topFn.fn));
      }
    }
  } else if (gs && mb) {
    // Live investigation: no baseline profile, but the baseline count from go_goroutines bounds how
    // many of today's goroutines can be old; the start function holding most of the rest is the leak.
    const grew = gs.outsideRequest - mb.mean;
    const [topFn, n] = [...gs.outsideRequestByStart.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    if (grew >= 200 && gs.outsideRequest >= 2 * mb.mean && n >= 0.5 * grew) {
      support.push('goroutine profile');
      reasons.push(`${fmtNum(n)} goroutines outside request handling started at ${topFn}, more than half of the ${fmtNum(grew)} added since the baseline (${fmtNum(mb.mean)} in all).`);
      evidence.push(...refs(ev, 'goroutine', 'goroutines by start function', ['spike']));
      frames.push(exact(topFn));
    }
    missing.push('baseline goroutine profile');
  } else missing.push('goroutine profiles in both windows');

  if (support.length === 0) return null;
  if (!support.includes('goroutine profile') && (gs && gb)) return null; // profiles say the growth is in-flight requests, not a leak
  return { id: 'goroutine-leak', effect, support, reasons, evidence, missing, frames, profiles: ['goroutine'] };
};
