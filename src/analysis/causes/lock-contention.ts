/** lock-contention: request goroutines queue on a mutex. */
import { fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, growth, metricRef, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const lockContention: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  const share = stateShare(f, ['lock']);
  if (share && share.spike >= 0.2 && share.explained >= 0.2 && share.countSpike >= 1) {
    support.push('goroutine profile');
    reasons.push(`${fmtPct(share.spike)} of in-flight requests are parked on a lock in the spike${share.base !== undefined ? ` vs ${fmtPct(share.base)} in the baseline` : ''}; locks account for ${fmtPct(share.explained)} of the added request time.`);
    effect = Math.max(effect, share.explained);
    evidence.push(...refs(ev, 'goroutine', 'request goroutines parked in sync.Mutex'));
  } else if (!share) missing.push('goroutine profile');

  // Mutex profile: delay attributed to the holder's Unlock. Block profile: delay at Lock.
  const ms = f.spike.mutex, mb = f.baseline?.mutex;
  if (ms && ms.samples > 0) {
    if (ms.perSecond >= 0.02 && (!mb || ms.perSecond >= 3 * mb.perSecond)) {
      support.push('mutex profile');
      reasons.push(`Mutex wait is ${fmtDuration(ms.perSecond)} per second in the spike${mb ? ` vs ${fmtDuration(mb.perSecond)} in the baseline` : ''}.`);
      effect = Math.max(effect, 0.7 * growth(ms.perSecond, mb?.perSecond ?? 0, 20));
      evidence.push(...refs(ev, 'mutex', 'contended lock holders'));
    }
  } else missing.push(ms ? 'mutex profile (no samples: runtime.SetMutexProfileFraction not set?)' : 'mutex profile');
  const bs = f.spike.block, bb = f.baseline?.block;
  const lockWait = bs?.requestByState.lock ?? 0;
  if (bs && lockWait >= 0.02 && (!bb || lockWait >= 3 * (bb.requestByState.lock ?? 0))) {
    support.push('block profile');
    const inflight = f.spike.metrics.latency_inflight?.mean;
    reasons.push(`Request goroutines wait ${fmtDuration(lockWait)} per second on locks (block profile)${inflight ? `, ${fmtPct(Math.min(1, lockWait / inflight))} of all request time` : ''}.`);
    evidence.push(...refs(ev, 'block', 'lock wait on the request path'));
  }
  const ws = f.spike.metrics.mutex_wait_rate, wb = f.baseline?.metrics.mutex_wait_rate;
  if (ws && ws.mean >= 0.02 && (!wb || ws.mean >= 3 * wb.mean)) {
    support.push('go_sync_mutex_wait_total_seconds_total');
    reasons.push(`Runtime metric: goroutines spent ${fmtNum(ws.mean)} s/s waiting on sync.Mutex${wb ? ` (baseline ${fmtNum(wb.mean)} s/s)` : ''}.`);
    evidence.push(...metricRef(ev, 'mutex_wait_rate', 'mutex wait'));
  }

  if (!support.includes('goroutine profile') && support.length < 2) return null;

  // Where: the application frame that takes the lock (goroutine/block) and the holder (mutex profile).
  const g = ev.spike.profiles.goroutine?.folded.stacks ?? [];
  const waiters = culprits(g, (fr) => isRequestPath(fr) && goroutineState(fr) === 'lock');
  const holders = ev.spike.profiles.mutex ? culprits(ev.spike.profiles.mutex.folded.stacks, () => true) : [];
  if (waiters.length) reasons.push(`Waiting at: ${waiters.map((w) => `${w.name} (${fmtPct(w.value)})`).join(', ')}.`);
  if (holders.length) reasons.push(`Lock held by: ${holders.map((w) => `${w.name} (${fmtPct(w.value)})`).join(', ')}.`);

  return {
    id: 'lock-contention',
    effect,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^(sync\.\(\*(Mutex|RWMutex)\)\.\w+|sync\.runtime_Semacquire(Mutex|RWMutex\w*))$/, ...waiters.map((w) => exact(w.name)), ...holders.map((w) => exact(w.name))],
    profiles: ['mutex', 'block', 'goroutine'],
  };
};
