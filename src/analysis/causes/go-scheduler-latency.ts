/** go-scheduler-latency: runnable goroutines wait for a P because other work holds the Ps. */
import { fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { culprits, exact, growth, metricRef, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { classifyStack, isRequestPath } from '../frames.js';
import { requestCpuGrowth } from './cpu-bound.js';

export const goSchedulerLatency: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  // When the request path itself got much more expensive, waiting for a P is its consequence (cpu-bound).
  const reqGrowth = requestCpuGrowth(f);
  if (reqGrowth && reqGrowth.ratio >= 1.5) return null;

  const ss = f.spike.metrics.sched_latency_p99, sb = f.baseline?.metrics.sched_latency_p99;
  if (ss && ss.mean >= 1e-3 && (!sb || ss.mean >= 3 * sb.mean)) {
    support.push('go_sched_latencies_seconds');
    reasons.push(`Goroutine scheduling latency p99 is ${fmtDuration(ss.mean)} in the spike${sb ? ` vs ${fmtDuration(sb.mean)} in the baseline` : ''}.`);
    effect = Math.max(effect, growth(ss.mean, sb?.mean ?? 0, 30));
    evidence.push(...metricRef(ev, 'sched_latency_p99', 'scheduling latency p99'));
  } else if (!ss) missing.push('go_sched_latencies_seconds (client_golang runtime metrics)');

  const procs = f.spike.metrics.gomaxprocs?.mean;
  if (!procs) missing.push('go_sched_gomaxprocs_threads');
  // Run queue: goroutines that are not parked in any wait either run or wait for a P. With R of
  // them on P processors each gets P/R of the time, so a request that becomes runnable waits ~1 − P/R.
  const gs = f.spike.goroutines, gb = f.baseline?.goroutines;
  let runQueue = false;
  if (gs) {
    const p = procs ?? 2;
    const r = gs.runnable;
    if (r >= 2 * p && gs.runnableOutsideRequest >= 0.5 * r && (!gb || r >= 3 * gb.runnable)) {
      runQueue = true;
      support.push('goroutine profile');
      reasons.push(`${fmtNum(r)} goroutines are runnable for ${procs ? fmtNum(procs) : 'an unknown number of'} Ps${gb ? ` (baseline ${fmtNum(gb.runnable)})` : ''}, ${fmtPct(gs.runnableOutsideRequest / r)} of them outside request handling: a goroutine that wakes waits about ${fmtPct(1 - p / r)} of the time for a P.`);
      effect = Math.max(effect, Math.max(0, 1 - p / r));
      evidence.push(...refs(ev, 'goroutine', 'runnable goroutines'));
    }
  } else missing.push('goroutine profile');

  const cs = f.spike.cpu, cb = f.baseline?.cpu;
  let cpuSays = false;
  if (cs) {
    const bgGrew = cs.backgroundAppCores - (cb?.backgroundAppCores ?? 0);
    const busy = procs ? cs.cores / procs : undefined;
    if (bgGrew >= 0.3 && bgGrew >= 0.5 * Math.max(cs.cores - (cb?.cores ?? 0), 0.1)) {
      cpuSays = true;
      support.push('CPU profile');
      reasons.push(`Application code outside request handling uses ${fmtNum(cs.backgroundAppCores)} cores in the spike${cb ? ` vs ${fmtNum(cb.backgroundAppCores)} in the baseline` : ''}${busy !== undefined ? `; the process uses ${fmtNum(cs.cores)} of ${fmtNum(procs!)} Ps' worth of CPU` : ''}.`);
      if (busy !== undefined && busy >= 0.8) effect = Math.max(effect, Math.min(1, cs.backgroundAppCores / cs.cores));
      evidence.push(...refs(ev, 'cpu', 'CPU outside the request path'));
    }
  } else missing.push('CPU profile');

  const runnable = stateShare(f, ['unaccounted']);
  if (runnable && runnable.explained >= 0.3 && runnable.countSpike >= 0.01) {
    reasons.push(`${fmtPct(runnable.spike)} of request time is neither on CPU nor in a recorded wait (runnable, waiting for a P).`);
  }
  const saturated = cs && procs ? cs.cores >= 0.8 * procs : false;
  if (!support.includes('go_sched_latencies_seconds') && !(cpuSays && (runQueue || saturated))) return null;

  const hogs = cs ? culprits(ev.spike.profiles.cpu!.folded.stacks, (fr) => !isRequestPath(fr) && classifyStack(fr) === 'app', 3) : [];
  if (hogs.length) reasons.push(`CPU taken outside requests by: ${hogs.map((h) => `${h.name} (${fmtPct(h.value)})`).join(', ')}.`);
  return { id: 'go-scheduler-latency', effect, support, reasons, evidence, missing, frames: hogs.map((h) => exact(h.name)), profiles: ['cpu', 'goroutine'] };
};
