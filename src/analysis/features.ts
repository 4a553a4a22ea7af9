/**
 * Facts derived once from the evidence and shared by every rule: CPU by category, where request
 * goroutines are parked, delay rates, metric summaries per window. Pure.
 */
import type { Evidence, WindowEvidence } from '../evidence/model.js';
import { sumWhere, type Folded } from '../sources/pprof/fold.js';
import { summarise, type SeriesSummary } from '../sources/prometheus/parse.js';
import type { MetricKey } from '../sources/prometheus/queries.js';
import { deriveKernelFacts, type KernelFacts } from './kernel-facts.js';
import { classifyStack, firstAppFrame, goroutineStart, isObserver, isOutboundCall, isRequestPath, WAIT_CATEGORIES, type FrameCategory } from './frames.js';

/** Where a request goroutine is: parked in a wait category, in an outbound call, or running/runnable. */
export type GoroutineState = FrameCategory | 'outbound' | 'running';

export interface CpuFacts {
  seconds: number;
  /** Average cores used over the profile. */
  cores: number;
  byCategory: Partial<Record<FrameCategory, number>>;
  /** Cores spent on the request path (any category). */
  requestCores: number;
  /** Cores in application code on the request path. */
  requestAppCores: number;
  /** Cores in application code outside request handling (background goroutines). */
  backgroundAppCores: number;
}

export interface GoroutineFacts {
  total: number;
  inRequest: number;
  inRequestByState: Partial<Record<GoroutineState, number>>;
  outsideRequest: number;
  outsideRequestByStart: Map<string, number>;
  /**
   * How each start function's count moved across the window's snapshots (outside requests), with
   * the share of steps that did not fall. Absent with fewer than three snapshots.
   */
  trendByStart?: Map<string, SeriesSummary & { steadiness: number }>;
  /** Goroutines not parked in any wait (running or waiting in the run queue for a P). */
  runnable: number;
  runnableOutsideRequest: number;
}

export interface DelayFacts {
  seconds: number;
  /** Seconds of waiting per second of wall time (mean number of goroutines waiting). */
  perSecond: number;
  /** Same, for request-path waits only, by state. */
  requestByState: Partial<Record<GoroutineState, number>>;
  samples: number;
}

/**
 * Request time by what requests are doing, in mean requests in flight (Little's law: waiting seconds
 * per second = requests waiting at any moment). Waits come from the block profile, which samples
 * every wait continuously, or else from goroutine snapshots; on-CPU time from the CPU profile.
 */
export interface RequestTime {
  /** Mean requests in flight: rate(latency _sum) when the histogram has it, else goroutine snapshots. */
  inflight: number;
  inflightSource: 'latency histogram' | 'goroutine profile';
  byState: Partial<Record<GoroutineState | 'cpu' | 'unaccounted', number>>;
  /** Which profile each wait figure came from. */
  waitSource: 'block profile' | 'goroutine profile';
}

export interface WindowFacts {
  requestTime?: RequestTime;
  /** Request-path CPU cores spent inside functions that hold a contended lock (critical sections). */
  criticalCores: number;
  /** Application frames that held contended locks (from the mutex profile). */
  lockHolders: string[];
  cpu?: CpuFacts;
  goroutines?: GoroutineFacts;
  mutex?: DelayFacts;
  block?: DelayFacts;
  /** Bytes allocated per second (allocs delta profile). */
  allocBytesPerSecond?: number;
  metrics: Partial<Record<MetricKey, SeriesSummary>>;
}

export interface Facts {
  spike: WindowFacts;
  baseline?: WindowFacts;
  /** Kernel and hardware evidence of the capture window (the spike, when it was ongoing). */
  kernel?: KernelFacts;
}

export function deriveFacts(ev: Evidence): Facts {
  return { spike: windowFacts(ev, ev.spike), baseline: ev.baseline ? windowFacts(ev, ev.baseline) : undefined, kernel: deriveKernelFacts(ev) };
}

function windowFacts(ev: Evidence, w: WindowEvidence): WindowFacts {
  const p = w.profiles;
  const metrics: WindowFacts['metrics'] = {};
  for (const [key, m] of Object.entries(ev.metrics)) {
    const s = summarise(m!.points, w.start, w.end);
    if (s) metrics[key as MetricKey] = s;
  }
  const cpu = p.cpu && p.cpu.seconds > 0 ? cpuFacts(p.cpu.folded, p.cpu.seconds) : undefined;
  const goroutines = p.goroutine ? goroutineFacts(p.goroutine.folded, p.goroutine.series) : undefined;
  const mutex = p.mutex && p.mutex.seconds > 0 ? delayFacts(p.mutex.folded, p.mutex.seconds) : undefined;
  const block = p.block && p.block.seconds > 0 ? delayFacts(p.block.folded, p.block.seconds) : undefined;
  const lockHolders = p.mutex ? holders(p.mutex.folded) : [];
  const criticalCores = p.cpu && cpu && lockHolders.length ? sumWhere(p.cpu.folded, (fr) => isRequestPath(fr) && fr.some((x) => lockHolders.includes(x))) / (p.cpu.seconds * 1e9) : 0;
  return {
    requestTime: requestTime(metrics, cpu, goroutines, block),
    criticalCores,
    lockHolders,
    cpu,
    goroutines,
    mutex,
    block,
    allocBytesPerSecond: p.allocs && p.allocs.seconds > 0 ? p.allocs.folded.total / p.allocs.seconds : undefined,
    metrics,
  };
}

const WAIT_STATES: GoroutineState[] = ['lock', 'channel', 'outbound'];

function requestTime(metrics: WindowFacts['metrics'], cpu: CpuFacts | undefined, g: GoroutineFacts | undefined, block: DelayFacts | undefined): RequestTime | undefined {
  const fromHist = metrics.latency_inflight?.mean;
  const inflight = fromHist ?? g?.inRequest;
  if (inflight === undefined) return undefined;
  const byState: RequestTime['byState'] = {};
  const useBlock = !!block && block.samples > 0;
  // The block profile sees channel, select and lock waits (a client call waits in a select); the
  // snapshots add what it cannot see (network reads, syscalls, sleeps, GC assist).
  for (const st of Object.keys(g?.inRequestByState ?? {}) as GoroutineState[]) {
    if (st === 'running' || (useBlock && WAIT_STATES.includes(st))) continue;
    byState[st] = (g!.inRequestByState[st]! / Math.max(g!.inRequest, 1e-9)) * inflight;
  }
  if (useBlock) for (const st of WAIT_STATES) byState[st] = block!.requestByState[st] ?? 0;
  if (cpu) byState.cpu = cpu.requestCores;
  const accounted = Object.values(byState).reduce((t, v) => t + (v ?? 0), 0);
  byState.unaccounted = Math.max(0, inflight - accounted);
  return { inflight, inflightSource: fromHist !== undefined ? 'latency histogram' : 'goroutine profile', byState, waitSource: useBlock ? 'block profile' : 'goroutine profile' };
}

/** Application frames holding locks that others waited for: ≥ 10% of the mutex delay each. */
function holders(f: Folded): string[] {
  if (f.total <= 0) return [];
  const by = new Map<string, number>();
  for (const s of f.stacks) {
    const h = firstAppFrame(s.frames);
    if (h) by.set(h, (by.get(h) ?? 0) + s.value);
  }
  return [...by.entries()].filter(([, v]) => v >= 0.1 * f.total).map(([k]) => k).sort();
}

function cpuFacts(f: Folded, seconds: number): CpuFacts {
  const ns = seconds * 1e9;
  const byCategory: CpuFacts['byCategory'] = {};
  let requestCores = 0, requestAppCores = 0, backgroundAppCores = 0;
  for (const s of f.stacks) {
    const cores = s.value / ns;
    const cat = classifyStack(s.frames);
    byCategory[cat] = (byCategory[cat] ?? 0) + cores;
    const inReq = isRequestPath(s.frames);
    if (inReq) requestCores += cores;
    if (cat === 'app') {
      if (inReq) requestAppCores += cores;
      else backgroundAppCores += cores;
    }
  }
  return { seconds, cores: f.total / ns, byCategory, requestCores, requestAppCores, backgroundAppCores };
}

/** The state of a request goroutine from its stack. */
export function goroutineState(frames: readonly string[]): GoroutineState {
  if (isOutboundCall(frames)) return 'outbound';
  const cat = classifyStack(frames);
  return WAIT_CATEGORIES.has(cat) ? cat : 'running';
}

function goroutineFacts(f: Folded, series?: Array<{ time: number; folded: Folded }>): GoroutineFacts {
  const inRequestByState: GoroutineFacts['inRequestByState'] = {};
  const outsideRequestByStart = new Map<string, number>();
  let inRequest = 0, outsideRequest = 0, runnable = 0, runnableOutsideRequest = 0;
  for (const s of f.stacks) {
    const parked = WAIT_CATEGORIES.has(classifyStack(s.frames)) || isOutboundCall(s.frames) || isIdleRuntime(s.frames);
    if (!parked) {
      runnable += s.value;
      if (!isRequestPath(s.frames)) runnableOutsideRequest += s.value;
    }
    if (isRequestPath(s.frames)) {
      inRequest += s.value;
      const st = goroutineState(s.frames);
      inRequestByState[st] = (inRequestByState[st] ?? 0) + s.value;
    } else {
      outsideRequest += s.value;
      const start = goroutineStart(s.frames);
      outsideRequestByStart.set(start, (outsideRequestByStart.get(start) ?? 0) + s.value);
    }
  }
  const trendByStart = series && series.length >= 3 ? startTrends(series) : undefined;
  return { total: f.total, inRequest, inRequestByState, outsideRequest, outsideRequestByStart, trendByStart, runnable, runnableOutsideRequest };
}

function startTrends(series: Array<{ time: number; folded: Folded }>): GoroutineFacts['trendByStart'] {
  const counts = series.map(({ folded }) => {
    const by = new Map<string, number>();
    for (const s of folded.stacks) {
      if (isRequestPath(s.frames)) continue;
      const start = goroutineStart(s.frames);
      by.set(start, (by.get(start) ?? 0) + s.value);
    }
    return by;
  });
  const starts = new Set(counts.flatMap((m) => [...m.keys()]));
  const out = new Map<string, SeriesSummary & { steadiness: number }>();
  for (const start of starts) {
    const pts = series.map(({ time }, i): [number, number] => [time, counts[i].get(start) ?? 0]);
    let held = 0;
    for (let i = 1; i < pts.length; i++) if (pts[i][1] >= pts[i - 1][1]) held++;
    out.set(start, { ...summarise(pts)!, steadiness: held / (pts.length - 1) });
  }
  return out;
}

function delayFacts(f: Folded, seconds: number): DelayFacts {
  const requestByState: DelayFacts['requestByState'] = {};
  for (const s of f.stacks) {
    if (!isRequestPath(s.frames)) continue;
    const st = goroutineState(s.frames);
    requestByState[st] = (requestByState[st] ?? 0) + s.value / 1e9 / seconds;
  }
  return { seconds, perSecond: f.total / 1e9 / seconds, requestByState, samples: f.stacks.length };
}

/**
 * Runtime goroutines that park without a wait frame we classify (GC workers, the finalizer, timers)
 * and our own observers (the goroutine-profile writer itself): never runnable work.
 */
const IDLE_RUNTIME = /^runtime\.(gopark|goparkunlock|gcBgMarkWorker|bgsweep|bgscavenge|forcegchelper|runfinq|runCleanups|unique_runtime_registerUniqueMapCleanup.*|goroutineProfileWithLabels\w*|pprof_goroutineProfileWithLabels)$/;
function isIdleRuntime(frames: readonly string[]): boolean {
  const leaf = frames[frames.length - 1];
  return leaf !== undefined && (IDLE_RUNTIME.test(leaf) || isObserver(frames));
}
