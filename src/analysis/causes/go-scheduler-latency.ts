/** go-scheduler-latency: runnable goroutines wait for a P because something else owns the CPUs. */
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

  const cs = f.spike.cpu, cb = f.baseline?.cpu;
  const procs = f.spike.metrics.gomaxprocs?.mean;
  if (cs) {
    const bgGrew = cs.backgroundAppCores - (cb?.backgroundAppCores ?? 0);
    const saturated = procs ? cs.cores >= 0.8 * procs : undefined;
    if (!procs) missing.push('go_sched_gomaxprocs_threads (to judge CPU saturation)');
    if (cs.backgroundAppCores >= 0.3 && (!cb || bgGrew >= 0.5 * Math.max(cs.cores - cb.cores, 0.1)) && saturated !== false) {
      support.push('CPU profile');
      reasons.push(`Application code outside request handling uses ${fmtNum(cs.backgroundAppCores)} cores in the spike${cb ? ` vs ${fmtNum(cb.backgroundAppCores)} in the baseline` : ''}${procs ? `, with ${fmtNum(cs.cores)} of ${fmtNum(procs)} Ps busy` : ''}.`);
      effect = Math.max(effect, Math.min(1, cs.backgroundAppCores / Math.max(procs ?? cs.cores, 1e-9)));
      evidence.push(...refs(ev, 'cpu', 'CPU outside the request path'));
    }
  } else missing.push('CPU profile');

  const running = stateShare(f, ['running']);
  if (running && running.explained >= 0.3 && running.countSpike >= 1) {
    support.push('goroutine profile');
    reasons.push(`${fmtPct(running.spike)} of in-flight requests are runnable rather than parked, while their CPU per request did not grow: they wait for a P.`);
    effect = Math.max(effect, 0.8 * running.explained);
  }
  if (!support.includes('go_sched_latencies_seconds') && !(support.includes('CPU profile') && support.includes('goroutine profile'))) return null;

  const hogs = cs ? culprits(ev.spike.profiles.cpu!.folded.stacks, (fr) => !isRequestPath(fr) && classifyStack(fr) === 'app', 3) : [];
  if (hogs.length) reasons.push(`CPU taken outside requests by: ${hogs.map((h) => `${h.name} (${fmtPct(h.value)})`).join(', ')}.`);
  return { id: 'go-scheduler-latency', effect, support, reasons, evidence, missing, frames: hogs.map((h) => exact(h.name)), profiles: ['cpu', 'goroutine'] };
};
