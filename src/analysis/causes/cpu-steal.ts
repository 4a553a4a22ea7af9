/**
 * cpu-steal: the hypervisor ran other guests on this VM's physical CPUs. The guest's threads were
 * runnable, and even "running", while the CPU did someone else's work: nothing inside the VM shows it
 * except the steal counter.
 */
import { clamp01, fmtNum, fmtPct } from '../../util/num.js';
import { kernelRefs, metricRef, metricRise, type Finding, type Rule } from '../finding.js';

export const cpuSteal: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;

  const m = k?.cpuModes;
  if (m && m.steal >= 0.05) {
    support.push('/proc/stat');
    reasons.push(`Steal time was ${fmtPct(m.steal)} of this VM's CPU time over ${fmtNum(k!.seconds)} s: the hypervisor gave the vCPUs to other guests.`);
    effect = Math.max(effect, clamp01(m.steal / 0.2));
    evidence.push(...kernelRefs(f, 'procfs', '/proc/stat steal time', ['proc/stat']));
  } else if (!m) missing.push('/proc/stat');

  const cpus = f.spike.metrics.node_cpus?.mean;
  const node = metricRise(f, 'node_steal', 2, 0.05 * (cpus ?? 1));
  if (node?.rose) {
    support.push('node_cpu_seconds_total{mode="steal"}');
    const frac = cpus ? node.spike / cpus : undefined;
    reasons.push(`Node steal ${fmtNum(node.spike)} cores${frac !== undefined ? ` (${fmtPct(frac)} of ${fmtNum(cpus!)} CPUs)` : ''} in the spike${node.base !== undefined ? ` vs ${fmtNum(node.base)} in the baseline` : ''}.`);
    evidence.push(...metricRef(ev, 'node_steal', 'node steal time'));
    effect = Math.max(effect, clamp01((frac ?? 0.1) / 0.2));
  }
  if (support.length === 0) return null;
  return { id: 'cpu-steal', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
