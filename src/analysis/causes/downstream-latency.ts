/** downstream-latency: request goroutines wait inside outbound calls to other services. */
import { fmtDuration, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const downstreamLatency: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  const share = stateShare(f, ['outbound']);
  if (share && share.spike >= 0.3 && share.explained >= 0.3 && share.countSpike >= 1) {
    support.push('goroutine profile');
    reasons.push(`${fmtPct(share.spike)} of in-flight requests are waiting on an outbound call in the spike${share.base !== undefined ? ` vs ${fmtPct(share.base)} in the baseline` : ''}; outbound calls account for ${fmtPct(share.explained)} of the added request time.`);
    effect = share.explained;
    evidence.push(...refs(ev, 'goroutine', 'request goroutines inside client calls'));
  } else if (!share) missing.push('goroutine profile');

  const bs = f.spike.block, bb = f.baseline?.block;
  const wait = bs?.requestByState.outbound ?? 0;
  if (bs && wait >= 0.02 && (!bb || wait >= 3 * (bb.requestByState.outbound ?? 0))) {
    support.push('block profile');
    reasons.push(`Request goroutines wait ${fmtDuration(wait)} per second inside client calls (block profile)${bb ? ` vs ${fmtDuration(bb.requestByState.outbound ?? 0)} in the baseline` : ''}.`);
    evidence.push(...refs(ev, 'block', 'outbound wait on the request path'));
  }
  if (!support.includes('goroutine profile')) return null;

  const g = ev.spike.profiles.goroutine!.folded.stacks;
  const callers = culprits(g, (fr) => isRequestPath(fr) && goroutineState(fr) === 'outbound');
  if (callers.length) reasons.push(`Calls waiting: ${callers.map((c) => `${c.name} (${fmtPct(c.value)})`).join(', ')}.`);
  return {
    id: 'downstream-latency',
    effect,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^net\/http\.\(\*(Client|Transport|persistConn)\)\.\w+$/, ...callers.map((c) => exact(c.name))],
    profiles: ['goroutine', 'block'],
  };
};
