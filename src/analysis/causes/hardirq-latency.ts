/**
 * hardirq-latency: hardware interrupt handlers take a large or long slice of a CPU (a storm from one
 * device, or a slow handler), delaying whatever runs there.
 */
import { clamp01, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { cores, kernelRefs, riseWitness, type Finding, type Rule } from '../finding.js';

export const hardirqLatency: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;

  const m = k?.cpuModes;
  if (m && (m.irqMaxCpu.frac >= 0.1 || m.irq >= 0.05)) {
    support.push('/proc/stat');
    reasons.push(`Hard interrupt handlers took ${fmtPct(m.irqMaxCpu.frac)} of CPU ${m.irqMaxCpu.cpu} (${fmtPct(m.irq)} of all CPUs) over ${fmtNum(k!.seconds)} s.`);
    effect = Math.max(effect, clamp01(m.irqMaxCpu.frac / 0.3));
    evidence.push(...kernelRefs(f, 'procfs', '/proc/stat irq time, /proc/interrupts', ['proc/stat', 'proc/interrupts']));
    const top = (k!.interrupts ?? []).slice(0, 3);
    if (top.length) reasons.push(`Busiest interrupts: ${top.map((i) => `${i.name || i.irq} ${fmtNum(i.perSecond)}/s`).join(', ')}.`);
  } else if (!m) missing.push('/proc/stat');

  const h = k?.hardirq;
  if (h) {
    const total = h.reduce((a, x) => a + x.perSecond, 0);
    const slowest = [...h].sort((a, b) => b.maxUs - a.maxUs)[0];
    if (total >= 0.1 || (slowest && slowest.maxUs >= 1000)) {
      support.push('bpftrace hardirq');
      const busiest = [...h].sort((a, b) => b.perSecond - a.perSecond)[0];
      reasons.push(`IRQ handlers ran ${fmtNum(total)} CPU-seconds per second; busiest ${busiest.name} (${fmtPct(busiest.perSecond / Math.max(total, 1e-9))}); longest single handler ${fmtDuration(slowest.maxUs / 1e6)} (${slowest.name}).`);
      effect = Math.max(effect, clamp01(Math.max(total / 0.3, slowest.maxUs / 5000)));
      evidence.push(...kernelRefs(f, 'bpf:hardirq', 'hard IRQ handler time by IRQ'));
    }
  } else missing.push('bpftrace hardirq');

  if (riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_irq', source: 'node_cpu_seconds_total{mode="irq"}', what: 'Node IRQ time', show: cores, ratio: 2, min: 0.05 })) effect = Math.max(effect, 0.3);
  if (support.length === 0) return null;
  return { id: 'hardirq-latency', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
