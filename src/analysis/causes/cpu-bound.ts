/** cpu-bound: the request path itself burns more CPU per request. */
import { fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import type { Facts, WindowFacts } from '../features.js';
import { culprits, exact, metricRef, refs, stateShare, type Finding, type Rule } from '../finding.js';
import { classifyStack, isRequestPath } from '../frames.js';

/** Request-path application CPU outside contended critical sections (that work is lock-contention's). */
const ownCores = (w: WindowFacts) => Math.max(0, (w.cpu?.requestAppCores ?? 0) - w.criticalCores);

/** CPU seconds per request in application code on the request path (needs the request rate). */
function cpuPerRequest(w: WindowFacts | undefined): number | undefined {
  const rps = w?.metrics.request_rate?.mean;
  if (!w?.cpu || !rps || rps <= 0) return undefined;
  return ownCores(w) / rps;
}

/** Mean request latency from Little's law (in-flight / rate), when the histogram has _sum and _count. */
export function meanLatency(w: WindowFacts | undefined): number | undefined {
  const inflight = w?.metrics.latency_inflight?.mean, rps = w?.metrics.request_rate?.mean;
  return inflight !== undefined && rps ? inflight / rps : undefined;
}

/** Growth of request-path CPU per request (or of request-path cores when the rate is unknown). */
export function requestCpuGrowth(f: Facts): { ratio: number; perRequest?: [number, number]; cores: [number, number] } | undefined {
  const cs = f.spike.cpu, cb = f.baseline?.cpu;
  if (!cs) return undefined;
  if (!cb) return processCpuGrowth(f);
  const s = cpuPerRequest(f.spike), b = cpuPerRequest(f.baseline);
  const cores: [number, number] = [ownCores(f.spike), ownCores(f.baseline!)];
  if (s !== undefined && b !== undefined) return { ratio: s / Math.max(b, 1e-9), perRequest: [s, b], cores };
  return { ratio: cores[0] / Math.max(cores[1], 1e-9), cores };
}

/**
 * No baseline CPU profile (a live investigation): process CPU per request from the metrics in both
 * windows, with the spike's profile saying how much of the spike's CPU is request-path application code.
 */
function processCpuGrowth(f: Facts): ReturnType<typeof requestCpuGrowth> {
  const cs = f.spike.cpu!;
  const ps = f.spike.metrics.cpu_cores?.mean, pb = f.baseline?.metrics.cpu_cores?.mean;
  const rs = f.spike.metrics.request_rate?.mean, rb = f.baseline?.metrics.request_rate?.mean;
  if (ps === undefined || pb === undefined || !rs || !rb) return undefined;
  const appShare = ownCores(f.spike) / Math.max(cs.cores, 1e-9);
  const s = (ps / rs) * appShare;
  // Baseline: all of its process CPU could have been request-path code; assume so (conservative).
  const b = pb / rb;
  return { ratio: s / Math.max(b, 1e-9), perRequest: [s, b], cores: [ps * appShare, pb] };
}

export const cpuBound: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  const cs = f.spike.cpu;
  if (!cs) return null; // only a CPU profile can say the request path burns CPU
  const g = requestCpuGrowth(f);
  let effect = 0;
  if (g) {
    if (g.ratio < 1.5 || g.cores[0] < 0.05) return null;
    // The request path's CPU growth must be computation: growth that is mostly allocation and GC
    // assist is the allocation rate's doing (gc-pressure), not a hot loop.
    if (!f.baseline?.cpu) missing.push('baseline CPU profile (process CPU from metrics used instead)');
    const reqGrew = f.baseline?.cpu ? cs.requestCores - f.baseline.cpu.requestCores : 0;
    const appGrew = g.cores[0] - g.cores[1];
    if (reqGrew > 0 && appGrew / reqGrew < 0.5) return null;
    support.push('CPU profile');
    if (g.perRequest) {
      const [s, b] = g.perRequest;
      reasons.push(`Application CPU per request on the request path rose from ${fmtDuration(b)} to ${fmtDuration(s)} (${fmtNum(g.ratio)}×).`);
      const ls = meanLatency(f.spike), lb = meanLatency(f.baseline);
      if (ls !== undefined && lb !== undefined && ls > lb) {
        effect = Math.min(1, (s - b) / (ls - lb));
        reasons.push(`That extra CPU is ${fmtPct(effect)} of the rise in mean latency (${fmtDuration(lb)} → ${fmtDuration(ls)}).`);
        if (effect < 0.2) return null; // the request path got more expensive, but that is not what made it slow
      } else {
        effect = Math.min(1, Math.log(g.ratio) / Math.log(10));
        missing.push('latency histogram _sum/_count (to relate CPU per request to latency)');
      }
      evidence.push(...metricRef(ev, 'request_rate', 'requests per second'));
    } else {
      reasons.push(`Application CPU on the request path rose from ${fmtNum(g.cores[1])} to ${fmtNum(g.cores[0])} cores (${fmtNum(g.ratio)}×).`);
      missing.push('request rate (to compute CPU per request)');
      effect = Math.min(1, Math.log(g.ratio) / Math.log(10));
    }
  } else {
    // No baseline: a request path dominated by application CPU is all we can say.
    const share = cs.requestAppCores / Math.max(cs.cores, 1e-9);
    if (share < 0.6) return null;
    support.push('CPU profile');
    reasons.push(`Application code on the request path uses ${fmtPct(share)} of the process CPU (${fmtNum(cs.requestAppCores)} cores); no baseline to compare with.`);
    missing.push('baseline CPU profile');
    effect = 0.4 * share;
  }
  evidence.push(...refs(ev, 'cpu', 'request-path application CPU'));

  const onCpu = stateShare(f, ['cpu']);
  if (onCpu && onCpu.explained >= 0.3) {
    reasons.push(`Time on CPU is ${fmtPct(onCpu.spike)} of request time in the spike${onCpu.base !== undefined ? ` vs ${fmtPct(onCpu.base)} in the baseline` : ''}.`);
  }
  const ms = f.spike.metrics.cpu_cores, mb = f.baseline?.metrics.cpu_cores;
  if (ms && mb && ms.mean >= 1.5 * mb.mean) {
    support.push('process_cpu_seconds_total');
    reasons.push(`Process CPU rose from ${fmtNum(mb.mean)} to ${fmtNum(ms.mean)} cores.`);
    evidence.push(...metricRef(ev, 'cpu_cores', 'process CPU'));
  }
  const critical = new Set(f.spike.lockHolders);
  const hot = culprits(ev.spike.profiles.cpu!.folded.stacks, (fr) => isRequestPath(fr) && classifyStack(fr) === 'app' && !fr.some((x) => critical.has(x)), 3);
  if (hot.length) reasons.push(`Hottest request-path code: ${hot.map((h) => `${h.name} (${fmtPct(h.value)})`).join(', ')}.`);
  return { id: 'cpu-bound', effect, support, reasons, evidence, missing, frames: hot.map((h) => exact(h.name)), profiles: ['cpu'] };
};
