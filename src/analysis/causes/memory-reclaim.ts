/**
 * memory-reclaim: the container sits at its memory limit, so allocations and page-cache writes
 * must first reclaim memory, and the thread that needs the page does it (direct or memcg reclaim).
 */
import { clamp01, fmtBytes, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { kernelRefs, riseWitness, type Finding, type Rule } from '../finding.js';

export const memoryReclaim: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;
  const p99 = f.spike.metrics.latency_p99?.max;

  const r = k?.reclaim;
  for (const [kind, s] of [['direct', r?.direct], ['memcg', r?.memcg]] as const) {
    if (!s || s.count < 5) continue;
    if (s.perSecond < 0.001 && s.p99Us < 1000) continue;
    support.push(`bpftrace ${kind} reclaim`);
    reasons.push(`${kind === 'memcg' ? 'Memory-cgroup' : 'Direct'} reclaim: ${fmtNum(s.count)} stalls, p99 ${fmtDuration(s.p99Us / 1e6)}, ${fmtDuration(s.perSecond)} of stall per second.`);
    effect = Math.max(effect, p99 ? clamp01(s.p99Us / 1e6 / p99) : clamp01(s.perSecond * 20));
    evidence.push(...kernelRefs(f, 'bpf:reclaim', 'reclaim stall histograms'));
  }
  if (!r) missing.push('bpftrace reclaim');

  const cg = k?.cgroup;
  const hits = (cg?.memoryFailcnt ?? 0) + (cg?.memoryEvents?.high ?? 0) + (cg?.memoryEvents?.max ?? 0);
  if (cg && hits > 0) {
    support.push('cgroup memory events');
    const usage = cg.memoryUsageBytes !== undefined && cg.memoryLimitBytes ? ` (usage ${fmtBytes(cg.memoryUsageBytes)} of ${fmtBytes(cg.memoryLimitBytes)}, ${fmtPct(cg.memoryUsageBytes / cg.memoryLimitBytes)})` : '';
    reasons.push(`The cgroup hit its memory limit ${fmtNum(hits)} times in ${fmtNum(k!.seconds)} s${usage}: each hit reclaims before the allocation or write can go on.`);
    effect = Math.max(effect, clamp01(hits / k!.seconds / 100) * 0.6);
    evidence.push(...kernelRefs(f, 'procfs', 'cgroup memory failcnt / memory.events', ['cgroup/memory.failcnt', 'cgroup/memory.events']));
    if (cg.memoryEvents?.oom_kill) reasons.push(`${fmtNum(cg.memoryEvents.oom_kill)} OOM kills in the window.`);
  } else if (!cg) missing.push('cgroup memory counters');

  const psi = cg?.psi?.memory ?? k?.psi.memory;
  if (psi !== undefined && psi >= 0.05) {
    support.push('PSI memory');
    reasons.push(`Memory pressure: some task stalled on memory ${fmtPct(psi)} of the time.`);
    effect = Math.max(effect, clamp01(psi / 0.3));
  } else {
    riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_psi_memory', source: 'node_pressure_memory_waiting_seconds_total', what: 'Node memory pressure', show: fmtPct, ratio: 2, min: 0.02 });
  }
  // Hitting the limit alone is routine for page cache; it matters when stalls are measured.
  if (support.length === 0 || (support.length === 1 && support[0] === 'cgroup memory events' && effect < 0.3)) return null;
  const gomem = f.spike.metrics.heap_inuse?.mean;
  if (gomem !== undefined && cg?.memoryLimitBytes) reasons.push(`Go heap in use ${fmtBytes(gomem)} of the ${fmtBytes(cg.memoryLimitBytes)} limit; the rest is page cache, stacks and runtime overhead.`);
  return { id: 'memory-reclaim', effect, support, reasons, evidence, missing, frames: [], profiles: [] };
};
