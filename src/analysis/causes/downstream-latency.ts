/** downstream-latency: request goroutines wait inside outbound calls to other services. */
import { fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, refs, stateGrew, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const downstreamLatency: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];

  const share = stateShare(f, ['outbound']);
  if (!share) return null;
  const grewEnough = stateGrew(share, 2);
  if (!(share.countSpike >= 0.01 && grewEnough && share.explained >= 0.3)) return null;
  const fromBlock = share.source.startsWith('block');
  support.push(fromBlock ? 'block profile' : 'goroutine profile');
  // A client call ends when a goroutine of ours reads the response; with the Ps held by a crowd of
  // runnable goroutines, part of the "wait on the dependency" is waiting for a P here.
  let effect = share.explained;
  const gs = f.spike.goroutines, procs = f.spike.metrics.gomaxprocs?.mean ?? 2;
  if (gs && gs.runnable >= 2 * procs && gs.runnableOutsideRequest >= 0.5 * gs.runnable) {
    const contended = 1 - procs / gs.runnable;
    effect *= 1 - contended;
    reasons.push(`But ${fmtNum(gs.runnable)} goroutines compete for ${fmtNum(procs)} Ps: about ${fmtPct(contended)} of this wait may be waiting for a P to read the response, not the dependency.`);
  }
  reasons.push(`Requests wait inside client calls to other services ${fmtDuration(share.countSpike)} per second in the spike (${fmtPct(share.spike)} of request time)${share.countBase !== undefined ? ` vs ${fmtDuration(share.countBase)} in the baseline` : ''}; that is ${fmtPct(share.explained)} of the added request time.`);
  evidence.push(...refs(ev, fromBlock ? 'block' : 'goroutine', 'request goroutines inside client calls'));

  const g = f.spike.goroutines;
  if (fromBlock && g && g.inRequest > 0 && (g.inRequestByState.outbound ?? 0) / g.inRequest >= 0.3) {
    support.push('goroutine profile');
    evidence.push(...refs(ev, 'goroutine', 'request goroutines inside client calls', ['spike']));
  }
  // Little's law on the dependency: CPU per request flat while time in calls grows means the other side got slower.
  const stacks = ev.spike.profiles.goroutine?.folded.stacks ?? ev.spike.profiles.block?.folded.stacks ?? [];
  const callers = culprits(stacks, (fr) => isRequestPath(fr) && goroutineState(fr) === 'outbound');
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
