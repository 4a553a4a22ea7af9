/**
 * runqueue-contention: the target's threads are runnable but wait for a CPU that other work holds
 * (noisy neighbours, too many busy processes per core). Distinct from throttling, whose stalls also
 * show as run-queue wait: when cpu.stat explains the wait, this rule stays silent.
 */
import { clamp01, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { kernelRefs, riseWitness, type Finding, type Rule } from '../finding.js';

export const runqueueContention: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;
  if (!k) return null;

  // Throttled time is run-queue wait too; subtract what the quota explains.
  const cg = k.cgroup;
  const throttled = cg?.throttledPeriods !== undefined && cg.periods ? cg.throttledPeriods / cg.periods : 0;

  // A wake-up that waits tens of microseconds is normal on a shared host; requests feel waits of
  // milliseconds, several per request (read, handler, downstream call, write).
  const p99 = f.spike.metrics.latency_p99?.max;
  const t = k.threads;
  if (t && t.timeslices > 0) {
    const perSlice = t.runqueueWaitSeconds / t.timeslices;
    if (perSlice >= 0.5e-3 && t.runqueueWaitSeconds / k.seconds >= 0.05) {
      support.push('per-thread schedstat');
      reasons.push(`The target's ${fmtNum(t.count)} threads waited ${fmtDuration(perSlice)} on average for a CPU each time they became runnable (${fmtNum(t.timeslices)} times, ${fmtDuration(t.runqueueWaitSeconds)} in all, while running ${fmtDuration(t.runSeconds)}) in ${fmtNum(k.seconds)} s.`);
      effect = Math.max(effect, clamp01(perSlice / 2e-3));
      evidence.push(...kernelRefs(f, 'procfs', 'per-thread schedstat (run and run-queue wait time)', ['task/']));
    }
  } else missing.push('per-thread schedstat');

  const rq = k.runq;
  if (rq && rq.count >= 20 && rq.p99Us >= 5000 && rq.meanUs >= 300) {
    support.push('bpftrace run-queue latency');
    reasons.push(`Run-queue latency of the target's threads: p99 ${fmtDuration(rq.p99Us / 1e6)}, mean ${fmtDuration(rq.meanUs / 1e6)} over ${fmtNum(rq.count)} wake-ups.`);
    effect = Math.max(effect, p99 ? clamp01(rq.p99Us / 1e6 / p99) : clamp01(rq.p99Us / 20000));
    evidence.push(...kernelRefs(f, 'bpf:runqlat', 'run-queue latency histogram'));
  } else if (!rq) missing.push('bpftrace run-queue latency');

  const psi = k.cgroup?.psi?.cpu ?? k.psi.cpu;
  if (support.length > 0 && psi !== undefined && psi >= 0.2) {
    support.push('PSI cpu');
    reasons.push(`CPU pressure: some task was waiting for a CPU ${fmtPct(psi)} of the time.`);
  } else if (support.length > 0) {
    riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_psi_cpu', source: 'node_pressure_cpu_waiting_seconds_total', what: 'Node CPU pressure', show: fmtPct, ratio: 1.5, min: 0.1 });
  }
  if (support.length === 0) return null;
  if (throttled >= 0.05) {
    // The quota, not the neighbours, is what kept the threads off the CPU.
    if (throttled >= 0.2 || effect < 0.5) return null;
    effect *= 0.5;
    reasons.push(`Part of this wait is CPU throttling (${fmtPct(throttled)} of periods throttled).`);
  }
  // Who holds the CPUs: the node's busy time beyond the target's own.
  const modes = k.cpuModes, cpus = k.cpus;
  const own = f.spike.metrics.cpu_cores?.mean ?? cg?.usageCores;
  if (modes && cpus) {
    const busyCores = modes.busy * cpus;
    reasons.push(`The node's ${fmtNum(cpus)} CPUs were ${fmtPct(modes.busy)} busy${own !== undefined ? `; the target used ${fmtNum(own)} cores, other processes about ${fmtNum(Math.max(0, busyCores - own))}` : ''}.`);
  }
  return { id: 'runqueue-contention', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
