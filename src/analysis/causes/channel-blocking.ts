/** channel-blocking: request goroutines wait on a channel, worker pool or select. */
import { fmtDuration, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const channelBlocking: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  const share = stateShare(f, ['channel']);
  if (share && share.spike >= 0.2 && share.explained >= 0.2 && share.countSpike >= 1) {
    support.push('goroutine profile');
    reasons.push(`${fmtPct(share.spike)} of in-flight requests are parked on a channel or select in the spike${share.base !== undefined ? ` vs ${fmtPct(share.base)} in the baseline` : ''}; that wait accounts for ${fmtPct(share.explained)} of the added request time.`);
    effect = Math.max(effect, share.explained);
    evidence.push(...refs(ev, 'goroutine', 'request goroutines parked on channels'));
  } else if (!share) missing.push('goroutine profile');

  const bs = f.spike.block, bb = f.baseline?.block;
  const wait = bs?.requestByState.channel ?? 0;
  if (bs && bs.samples > 0) {
    if (wait >= 0.02 && (!bb || wait >= 3 * (bb.requestByState.channel ?? 0))) {
      support.push('block profile');
      const inflight = f.spike.metrics.latency_inflight?.mean;
      reasons.push(`Request goroutines wait ${fmtDuration(wait)} per second on channels (block profile)${inflight ? `, ${fmtPct(Math.min(1, wait / inflight))} of all request time` : ''}${bb ? ` vs ${fmtDuration(bb.requestByState.channel ?? 0)} in the baseline` : ''}.`);
      evidence.push(...refs(ev, 'block', 'channel wait on the request path'));
      if (!share) effect = Math.max(effect, inflight ? Math.min(1, wait / inflight) : 0.5);
    }
  } else missing.push(bs ? 'block profile (no samples: runtime.SetBlockProfileRate not set?)' : 'block profile');

  if (!support.includes('goroutine profile') && !(support.includes('block profile') && effect >= 0.2)) return null;

  const g = ev.spike.profiles.goroutine?.folded.stacks ?? ev.spike.profiles.block?.folded.stacks ?? [];
  const where = culprits(g, (fr) => isRequestPath(fr) && goroutineState(fr) === 'channel');
  if (where.length) reasons.push(`Waiting at: ${where.map((w) => `${w.name} (${fmtPct(w.value)})`).join(', ')}.`);
  return {
    id: 'channel-blocking',
    effect,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^runtime\.(chanrecv[12]?|chansend1?|selectgo)$/, ...where.map((w) => exact(w.name))],
    profiles: ['block', 'goroutine'],
  };
};
