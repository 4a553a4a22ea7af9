/**
 * softirq-saturation: a CPU spends much of its time in softirq handlers (mostly NET_RX under packet
 * floods), so threads scheduled on it run late, and packets wait in the backlog.
 */
import { clamp01, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { cores, kernelRefs, metricRise, riseWitness, type Finding, type Rule } from '../finding.js';

export const softirqSaturation: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;

  const m = k?.cpuModes;
  if (m && (m.softirqMaxCpu.frac >= 0.2 || m.softirq >= 0.1)) {
    support.push('/proc/stat');
    reasons.push(`Softirq handlers took ${fmtPct(m.softirqMaxCpu.frac)} of CPU ${m.softirqMaxCpu.cpu} and ${fmtPct(m.softirq)} of all CPUs' time over ${fmtNum(k!.seconds)} s: threads on that CPU run only in what is left.`);
    effect = Math.max(effect, clamp01(m.softirqMaxCpu.frac / 0.5));
    evidence.push(...kernelRefs(f, 'procfs', '/proc/stat softirq time per CPU, /proc/softirqs', ['proc/stat', 'proc/softirqs']));
  } else if (!m) missing.push('/proc/stat');

  const s = k?.softirq;
  if (s) {
    const total = Object.values(s.byVector).reduce((a, b) => a + b, 0);
    const top = Object.entries(s.byVector).sort((a, b) => b[1] - a[1])[0];
    const lat = Object.entries(s.latencyP99Us).sort((a, b) => b[1] - a[1])[0];
    if (top && (total >= 0.2 || (lat && lat[1] >= 2000))) {
      support.push('bpftrace softirq');
      reasons.push(`Softirq time ${fmtNum(total)} CPU-seconds per second, ${fmtPct(top[1] / Math.max(total, 1e-9))} of it ${top[0]}${lat ? `; raise→run latency p99 ${fmtDuration(lat[1] / 1e6)} (${lat[0]})` : ''}.`);
      effect = Math.max(effect, clamp01(total / 0.6));
      evidence.push(...kernelRefs(f, 'bpf:softirq', 'softirq time per vector and CPU'));
    }
  } else missing.push('bpftrace softirq');

  const node = riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_softirq', source: 'node_cpu_seconds_total{mode="softirq"}', what: 'Node softirq time', show: cores, ratio: 2, min: 0.1 });
  if (node) {
    effect = Math.max(effect, clamp01(node.spike / ((f.spike.metrics.node_cpus?.mean ?? 1) * 0.5)));
  }
  const squeezed = metricRise(f, 'node_softnet_squeezed', 3, 1);
  if (support.length > 0 && squeezed?.rose) reasons.push(`The network backlog ran out of budget ${fmtNum(squeezed.spike)} times/s (softnet time_squeeze): packets wait for the next round.`);
  if (support.length === 0) return null;
  return { id: 'softirq-saturation', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
