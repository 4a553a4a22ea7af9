/** lock-contention: requests queue on a mutex (the wait, plus the serialized work inside it). */
import { fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { goroutineState } from '../features.js';
import { culprits, exact, growth, metricRef, refs, stateGrew, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

export const lockContention: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  const share = stateShare(f, ['lock']);
  if (share) {
    // Work done while holding a contended lock is serialized: it belongs to the contention, not to CPU.
    const critical = f.spike.criticalCores - (f.baseline?.criticalCores ?? 0);
    const explained = Math.min(1, share.explained + (share.grew > 0 ? Math.max(0, critical) / share.grew : 0));
    const grewEnough = stateGrew(share, 3);
    if (share.countSpike >= 0.01 && grewEnough && explained >= 0.2) {
      support.push(share.source.startsWith('block') ? 'block profile' : 'goroutine profile');
      reasons.push(`Requests wait on locks ${fmtDuration(share.countSpike)} per second in the spike (${fmtPct(share.spike)} of request time)${share.countBase !== undefined ? ` vs ${fmtDuration(share.countBase)} in the baseline` : ''}.`);
      if (critical > 0.01) reasons.push(`The contended critical sections (${f.spike.lockHolders.join(', ')}) burn ${fmtNum(critical)} more cores on the request path: serialized work every request queues behind.`);
      if (share.grew > 0) reasons.push(`Lock waits and critical sections account for ${fmtPct(explained)} of the added request time.`);
      effect = explained;
      evidence.push(...refs(ev, share.source.startsWith('block') ? 'block' : 'goroutine', 'request goroutines waiting in sync.Mutex'));
    }
  } else missing.push('goroutine or block profile');

  // Mutex profile: delay attributed to the holder's Unlock.
  const ms = f.spike.mutex, mb = f.baseline?.mutex;
  if (ms && ms.samples > 0) {
    if (ms.perSecond >= 0.01 && (!mb || ms.perSecond >= 3 * mb.perSecond)) {
      support.push('mutex profile');
      reasons.push(`Mutex profile: ${fmtDuration(ms.perSecond)} of waiting per second in the spike${mb ? ` vs ${fmtDuration(mb.perSecond)} in the baseline` : ''}.`);
      effect = Math.max(effect, 0.6 * growth(ms.perSecond, mb?.perSecond ?? 0, 100));
      evidence.push(...refs(ev, 'mutex', 'contended lock holders'));
    }
  } else missing.push(ms ? 'mutex profile (no samples: runtime.SetMutexProfileFraction not set?)' : 'mutex profile');
  const ws = f.spike.metrics.mutex_wait_rate, wb = f.baseline?.metrics.mutex_wait_rate;
  if (ws && ws.mean >= 0.01 && (!wb || ws.mean >= 3 * wb.mean)) {
    support.push('go_sync_mutex_wait_total_seconds_total');
    reasons.push(`Runtime metric: goroutines spent ${fmtNum(ws.mean)} s/s waiting on sync.Mutex${wb ? ` (baseline ${fmtNum(wb.mean)} s/s)` : ''}.`);
    evidence.push(...metricRef(ev, 'mutex_wait_rate', 'mutex wait'));
  }

  // Request time must show it, or two independent lock signals must agree.
  if (!support.some((s) => s === 'block profile' || s === 'goroutine profile') && support.length < 2) return null;

  const stacks = ev.spike.profiles.block?.folded.stacks ?? ev.spike.profiles.goroutine?.folded.stacks ?? [];
  const waiters = culprits(stacks, (fr) => isRequestPath(fr) && goroutineState(fr) === 'lock');
  if (waiters.length) reasons.push(`Waiting at: ${waiters.map((w) => `${w.name} (${fmtPct(w.value)})`).join(', ')}.`);
  if (f.spike.lockHolders.length) reasons.push(`Lock held by: ${f.spike.lockHolders.join(', ')}.`);

  return {
    id: 'lock-contention',
    effect,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^(sync\.\(\*(Mutex|RWMutex)\)\.\w+|sync\.runtime_Semacquire(Mutex|RWMutex\w*))$/, ...waiters.map((w) => exact(w.name)), ...f.spike.lockHolders.map(exact)],
    profiles: ['mutex', 'block', 'goroutine', 'cpu'],
  };
};
