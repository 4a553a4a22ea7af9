/** gc-pressure: allocation drives GC work, assists and stop-the-world pauses into request latency. */
import { histQuantile } from '../../sources/bpftrace/parse.js';
import { fmtBytes, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import type { CpuFacts } from '../features.js';
import { culprits, exact, growth, metricRef, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { isRequestPath } from '../frames.js';

const gcShare = (c: CpuFacts) => ((c.byCategory.gc ?? 0) + (c.byCategory['gc-assist'] ?? 0) + (c.byCategory.alloc ?? 0)) / Math.max(c.cores, 1e-9);

export const gcPressure: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;

  const cs = f.spike.cpu, cb = f.baseline?.cpu;
  if (cs) {
    const s = gcShare(cs), b = cb ? gcShare(cb) : undefined;
    const assist = (cs.byCategory['gc-assist'] ?? 0) / Math.max(cs.cores, 1e-9);
    // GC + allocation above ~15% of CPU and clearly up from baseline is GC pressure (Go's own target is 25% for background marking while a cycle runs).
    if (s >= 0.15 && (b === undefined ? s >= 0.3 : s - b >= 0.1 && s >= 1.5 * b)) {
      support.push('CPU profile');
      reasons.push(`GC and allocation take ${fmtPct(s)} of CPU in the spike${b !== undefined ? ` vs ${fmtPct(b)} in the baseline` : ''}; GC assist (allocating goroutines forced to mark) ${fmtPct(assist)}.`);
      effect = Math.max(effect, Math.min(1, (s - (b ?? 0)) / 0.35));
      evidence.push(...refs(ev, 'cpu', 'GC/alloc share of CPU samples'));
    }
  } else missing.push('CPU profile');

  const rs = f.spike.metrics.gc_rate, rb = f.baseline?.metrics.gc_rate;
  const as = f.spike.metrics.alloc_rate, ab = f.baseline?.metrics.alloc_rate;
  const allocS = as?.mean ?? f.spike.allocBytesPerSecond, allocB = ab?.mean ?? f.baseline?.allocBytesPerSecond;
  const gcUp = rs && rb && rs.mean >= 0.5 && rs.mean >= 3 * rb.mean;
  const allocUp = allocS !== undefined && allocB !== undefined && allocS >= 3 * allocB && allocS >= 32 << 20;
  if (gcUp) {
    support.push('go_gc_duration_seconds');
    reasons.push(`GC cycles rose from ${fmtNum(rb.mean)}/s to ${fmtNum(rs.mean)}/s.`);
    effect = Math.max(effect, 0.8 * growth(rs.mean, rb.mean, 30));
    evidence.push(...metricRef(ev, 'gc_rate', 'GC cycles per second'));
  } else if (!rs) missing.push('go_gc_duration_seconds');
  if (allocUp) {
    support.push(as ? 'go_memstats_alloc_bytes_total' : 'allocs profile');
    reasons.push(`Allocation rate rose from ${fmtBytes(allocB!)}/s to ${fmtBytes(allocS!)}/s.`);
    evidence.push(...(as ? metricRef(ev, 'alloc_rate', 'bytes allocated per second') : refs(ev, 'allocs', 'allocated bytes')));
  }
  const ps = f.spike.metrics.gc_pause_frac, pb = f.baseline?.metrics.gc_pause_frac;
  const pauses = !!ps && ps.mean >= 0.01 && (!pb || ps.mean >= 3 * pb.mean);
  if (ps && ps.mean >= 0.005 && (!pb || ps.mean >= 3 * pb.mean)) {
    reasons.push(`Stop-the-world pauses take ${fmtPct(ps.mean, 1)} of wall time${pb ? ` (baseline ${fmtPct(pb.mean, 2)})` : ''}.`);
  }
  const assistWait = stateShare(f, ['gc-assist']);
  if (assistWait && assistWait.spike >= 0.1) {
    support.push('goroutine profile');
    reasons.push(`${fmtPct(assistWait.spike)} of request goroutines are assisting or waiting for the GC.`);
  }

  // GC hurts requests through CPU (mark workers, assists) and stop-the-world pauses. More cycles
  // alone are not a cause when the CPU profile shows GC is still cheap and pauses are short.
  const cpuSaysGc = support.includes('CPU profile');
  if (!(cpuSaysGc || (gcUp && pauses) || (!cs && gcUp && allocUp))) return null;

  // Uprobes on runtime.gcStart / stopTheWorldWithSema count cycles and time pauses directly.
  const gc = ev.kernel.bpf.gc;
  if (gc && gc.seconds > 0) {
    const o = gc.output.maps;
    const starts = o['@gc_starts']?.kind === 'scalar' ? o['@gc_starts'].value / gc.seconds : undefined;
    const stw = o['@stw_us']?.kind === 'hist' ? histQuantile(o['@stw_us'].entries[0]?.buckets ?? [], 0.99) : undefined;
    if (starts !== undefined && starts >= 3) {
      support.push('bpftrace gc uprobes');
      reasons.push(`The runtime started ${fmtNum(starts)} GC cycles per second during the capture${stw !== undefined ? `; stop-the-world pauses p99 ${fmtDuration(stw / 1e6)}` : ''}.`);
      evidence.push({ artifact: gc.artifact, note: 'GC starts and stop-the-world pauses (uprobes)' });
    }
  }

  const allocs = ev.spike.profiles.allocs?.folded;
  const top = allocs ? culprits(allocs.stacks, isRequestPath, 3) : [];
  if (top.length) {
    reasons.push(`Top allocation sites on the request path: ${top.map((t) => `${t.name} (${fmtPct(t.value)})`).join(', ')}.`);
    evidence.push(...refs(ev, 'allocs', 'allocation sites', ['spike']));
  } else if (!allocs) missing.push('allocs profile');

  return {
    id: 'gc-pressure',
    effect,
    support,
    reasons,
    evidence,
    missing,
    frames: [/^runtime\.(gcBgMarkWorker|gcAssistAlloc1?|gcDrain\w*|mallocgc\w*|scanobject|markroot\w*|bgsweep|gcStart)$/, ...top.map((t) => exact(t.name))],
    profiles: ['cpu', 'allocs'],
  };
};
