/** channel-blocking: request goroutines wait on a channel, worker pool or select. */
import { fmtDuration, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, refs, stateGrew, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const channelBlocking: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];

  const share = stateShare(f, ['channel']);
  if (!share) return null;
  const grewEnough = stateGrew(share, 3);
  if (!(share.countSpike >= 0.01 && grewEnough && share.explained >= 0.2)) return null;
  const fromBlock = share.source.startsWith('block');
  support.push(fromBlock ? 'block profile' : 'goroutine profile');
  reasons.push(`Requests wait on channels or select ${fmtDuration(share.countSpike)} per second in the spike (${fmtPct(share.spike)} of request time)${share.countBase !== undefined ? ` vs ${fmtDuration(share.countBase)} in the baseline` : ''}; that wait is ${fmtPct(share.explained)} of the added request time.`);
  evidence.push(...refs(ev, fromBlock ? 'block' : 'goroutine', 'request goroutines waiting on channels'));
  if (!fromBlock) missing.push('block profile (runtime.SetBlockProfileRate not set?)');

  // The snapshots agree when they catch requests parked on channels too.
  const g = f.spike.goroutines;
  if (fromBlock && g && g.inRequest > 0 && (g.inRequestByState.channel ?? 0) / g.inRequest >= 0.3) support.push('goroutine profile');

  const stacks = ev.spike.profiles.block?.folded.stacks ?? ev.spike.profiles.goroutine?.folded.stacks ?? [];
  const where = culprits(stacks, (fr) => isRequestPath(fr) && goroutineState(fr) === 'channel');
  if (where.length) reasons.push(`Waiting at: ${where.map((w) => `${w.name} (${fmtPct(w.value)})`).join(', ')}.`);
  return {
    id: 'channel-blocking',
    effect: share.explained,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^runtime\.(chanrecv[12]?|chansend1?|selectgo)$/, ...where.map((w) => exact(w.name))],
    profiles: ['block', 'goroutine'],
  };
};
