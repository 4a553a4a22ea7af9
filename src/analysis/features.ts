/**
 * Facts derived once from the evidence and shared by every rule: CPU by category, where request
 * goroutines are parked, delay rates, metric summaries per window. Pure.
 */
import type { Evidence, WindowEvidence } from '../evidence/model.js';
import type { Folded } from '../sources/pprof/fold.js';
import { summarise, type SeriesSummary } from '../sources/prometheus/parse.js';
import type { MetricKey } from '../sources/prometheus/queries.js';
import { classifyStack, goroutineStart, isOutboundCall, isRequestPath, WAIT_CATEGORIES, type FrameCategory } from './frames.js';

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
}

export interface DelayFacts {
  seconds: number;
  /** Seconds of waiting per second of wall time (mean number of goroutines waiting). */
  perSecond: number;
  /** Same, for request-path waits only, by state. */
  requestByState: Partial<Record<GoroutineState, number>>;
  samples: number;
}

export interface WindowFacts {
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
}

export function deriveFacts(ev: Evidence): Facts {
  return { spike: windowFacts(ev, ev.spike), baseline: ev.baseline ? windowFacts(ev, ev.baseline) : undefined };
}

function windowFacts(ev: Evidence, w: WindowEvidence): WindowFacts {
  const p = w.profiles;
  const metrics: WindowFacts['metrics'] = {};
  for (const [key, m] of Object.entries(ev.metrics)) {
    const s = summarise(m!.points, w.start, w.end);
    if (s) metrics[key as MetricKey] = s;
  }
  return {
    cpu: p.cpu && p.cpu.seconds > 0 ? cpuFacts(p.cpu.folded, p.cpu.seconds) : undefined,
    goroutines: p.goroutine ? goroutineFacts(p.goroutine.folded) : undefined,
    mutex: p.mutex && p.mutex.seconds > 0 ? delayFacts(p.mutex.folded, p.mutex.seconds) : undefined,
    block: p.block && p.block.seconds > 0 ? delayFacts(p.block.folded, p.block.seconds) : undefined,
    allocBytesPerSecond: p.allocs && p.allocs.seconds > 0 ? p.allocs.folded.total / p.allocs.seconds : undefined,
    metrics,
  };
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

function goroutineFacts(f: Folded): GoroutineFacts {
  const inRequestByState: GoroutineFacts['inRequestByState'] = {};
  const outsideRequestByStart = new Map<string, number>();
  let inRequest = 0, outsideRequest = 0;
  for (const s of f.stacks) {
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
  return { total: f.total, inRequest, inRequestByState, outsideRequest, outsideRequestByStart };
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
