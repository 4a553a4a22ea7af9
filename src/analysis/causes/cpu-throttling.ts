/**
 * cpu-throttling: the cgroup's CFS quota ran out within periods, so every thread of the container
 * waited for the next period. A request caught there waits up to the rest of the period, whatever it
 * was doing: the stall is invisible to Go and to CPU profiles, and only cpu.stat counts it.
 */
import { fmtDuration, fmtNum, fmtPct, clamp01 } from '../../util/num.js';
import { kernelRefs, metricRef, metricRise, type Finding, type Rule } from '../finding.js';

/** `resources.limits.cpu` of a Kubernetes target's container, as recorded in the bundle. */
function podCpuLimit(kubernetes: unknown): number | undefined {
  const v = (kubernetes as { resources?: { cpuLimitCores?: unknown } } | undefined)?.resources?.cpuLimitCores;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export const cpuThrottling: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;
  const cg = k?.cgroup;

  if (cg?.periods !== undefined && cg.throttledPeriods !== undefined) {
    const frac = cg.periods > 0 ? cg.throttledPeriods / cg.periods : 0;
    if (cg.throttledPeriods >= 3 && frac >= 0.05) {
      support.push('cgroup cpu.stat');
      const stall = cg.throttledSeconds !== undefined && cg.throttledPeriods > 0 ? cg.throttledSeconds / cg.throttledPeriods : undefined;
      reasons.push(`The cgroup was throttled in ${fmtNum(cg.throttledPeriods)} of ${fmtNum(cg.periods)} CFS periods (${fmtPct(frac)}) in ${fmtNum(k!.seconds)} s${stall !== undefined ? `, ${fmtDuration(stall)} of throttled thread time per throttled period` : ''}: every thread waits for the next period.`);
      // A quarter of periods throttled means most requests longer than a period meet a stall.
      effect = Math.max(effect, clamp01(frac / 0.25));
      evidence.push(...kernelRefs(f, 'procfs', 'cgroup cpu.stat (nr_periods, nr_throttled, throttled time)', ['cgroup/cpu.stat']));
    }
  } else missing.push('cgroup cpu.stat');

  const m = metricRise(f, 'container_throttled_frac', 2, 0.05);
  if (m?.rose) {
    support.push('container_cpu_cfs_throttled_periods_total');
    reasons.push(`cAdvisor: ${fmtPct(m.spike)} of CFS periods throttled in the spike${m.base !== undefined ? ` vs ${fmtPct(m.base)} in the baseline` : ''}.`);
    effect = Math.max(effect, clamp01(m.spike / 0.25));
    evidence.push(...metricRef(ev, 'container_throttled_frac', 'throttled share of CFS periods'));
  }
  if (support.length === 0) return null;

  // The classic cause: more Go threads run in parallel than the quota allows, so the quota is
  // spent early in each period and the process then stands still until the period ends.
  const procs = f.spike.metrics.gomaxprocs?.mean ?? k?.cpus;
  // Without the cgroup's own quota (no node access), the pod's CPU limit is what sets it.
  const podLimit = podCpuLimit(ev.manifest.target.kubernetes);
  const quota = cg?.quotaCores ?? podLimit;
  if (cg?.quotaCores === undefined && podLimit !== undefined) reasons.push(`The pod's CPU limit is ${fmtNum(podLimit)} cores (its spec; the cgroup quota itself was not read).`);
  if (quota !== undefined && procs !== undefined && procs > Math.ceil(quota)) {
    reasons.push(`GOMAXPROCS${f.spike.metrics.gomaxprocs ? '' : ' (the CPU count, assumed)'} is ${fmtNum(procs)} but the quota is ${fmtNum(quota)} cores: ${fmtNum(procs)} threads can spend a ${fmtNum(quota)}-core quota in ${fmtPct(quota / procs)} of each period, then the process stops for the rest. Set GOMAXPROCS to ${Math.max(1, Math.ceil(quota))} (Go 1.25+ does this itself unless GOMAXPROCS is set) or raise the limit.`);
  } else if (quota !== undefined) {
    reasons.push(`The CPU quota is ${fmtNum(quota)} cores${cg?.usageCores !== undefined ? `; the cgroup used ${fmtNum(cg.usageCores)} cores on average, so bursts above the quota are what stall` : ''}.`);
  }
  if (k?.threads && k.threads.runqueueWaitSeconds > 0) {
    reasons.push(`The target's threads waited ${fmtDuration(k.threads.runqueueWaitSeconds / k.seconds)} per second for a CPU (per-thread schedstat), which includes the throttled time.`);
  }
  const runnable = f.spike.requestTime?.byState.unaccounted;
  if (runnable !== undefined && f.spike.requestTime!.inflight > 0) {
    reasons.push(`${fmtPct(runnable / f.spike.requestTime!.inflight)} of request time is neither on CPU nor in a Go-level wait: that is where a throttled stall shows up.`);
  }
  return { id: 'cpu-throttling', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
