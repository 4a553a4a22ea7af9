/**
 * The decision flow: user-space block → kernel wait → hardware interrupt. The flow only orders the
 * rules and records each step (what was checked, on which evidence, the verdict, why it went deeper);
 * the rules decide, rank.ts scores.
 */
import type { Evidence } from '../evidence/model.js';
import { fmtDuration, fmtNum, fmtPct } from '../util/num.js';
import { CATALOGUE, CAUSE_IDS, LEVELS, type CauseId, type Level, type UserSpaceCause } from './catalogue.js';
import { RULES } from './causes/index.js';
import { deriveFacts, type Facts } from './features.js';
import type { KernelFacts } from './kernel-facts.js';
import { stateShare, type Finding } from './finding.js';
import { rank, REPORT_THRESHOLD, type Ranked } from './rank.js';

export type StepVerdict = 'found' | 'weak' | 'clear' | 'not-observed' | 'descend';

export interface WalkStep {
  level: Level | 'latency';
  check: string;
  cause?: CauseId;
  verdict: StepVerdict;
  detail: string;
}

export interface LatencySummary {
  metric?: string;
  /** From spike finding at capture time: is the spike still going on, and its peak. */
  ongoing?: boolean;
  peakSeconds?: number;
  baselineP99Seconds?: number;
  spikeP99Seconds?: number;
  ratio?: number;
  baselineP50Seconds?: number;
  spikeP50Seconds?: number;
}

export interface Analysis {
  facts: Facts;
  latency?: LatencySummary;
  /** Every finding, ranked; those at or above the threshold are reported. */
  ranked: Ranked[];
  reported: Ranked[];
  walk: WalkStep[];
  verdict: 'cause-found' | 'no-cause-found' | 'inconclusive';
  summary: string;
}

/** The user-space evidence collected; every user-space rule reads from it. */
function userSpaceSources(ev: Evidence): string[] {
  const have: string[] = [];
  for (const [k, p] of Object.entries(ev.spike.profiles)) if (p) have.push(`${k} profile`);
  if (Object.keys(ev.metrics).some((k) => k.startsWith('gc_') || k === 'goroutines' || k === 'alloc_rate')) have.push('Go runtime metrics');
  return have;
}

/** For each kernel and hardware cause, which of the evidence it reads was collected. */
const BELOW_SOURCES: Record<Exclude<CauseId, UserSpaceCause>, (k: KernelFacts | undefined, m: Facts['spike']['metrics']) => Array<string | false | undefined>> = {
  'cpu-throttling': (k, m) => [k?.cgroup?.periods !== undefined && 'cgroup cpu.stat', m.container_throttled_frac && 'cAdvisor throttling'],
  'runqueue-contention': (k, m) => [k?.threads && 'per-thread schedstat', k?.runq && 'bpftrace run-queue latency', k?.psi.cpu !== undefined && 'PSI cpu', m.node_psi_cpu && 'node CPU pressure'],
  'disk-io-latency': (k, m) => [k?.syscalls && 'bpftrace syscall latency', k?.blockIo && 'bpftrace block I/O', k?.psi.io !== undefined && 'PSI io', m.node_psi_io && 'node I/O pressure'],
  'memory-reclaim': (k, m) => [k?.reclaim && 'bpftrace reclaim', k?.cgroup?.memoryLimitBytes !== undefined && 'cgroup memory', k?.psi.memory !== undefined && 'PSI memory', m.node_psi_memory && 'node memory pressure'],
  'tcp-retransmits': (k, m) => [k?.tcp && '/proc/net/snmp', k?.retransmits && 'bpftrace retransmits', m.node_retrans && 'node retransmits'],
  'accept-queue-overflow': (k, m) => [k?.tcp && '/proc/net/netstat', k?.listen && 'listen queues', m.node_listen_overflows && 'node listen overflows'],
  'softirq-saturation': (k, m) => [k?.cpuModes && '/proc/stat', k?.softirq && 'bpftrace softirq', m.node_softirq && 'node softirq time'],
  'hardirq-latency': (k, m) => [k?.cpuModes && '/proc/stat', k?.hardirq && 'bpftrace hardirq', m.node_irq && 'node IRQ time'],
  'cpu-steal': (k, m) => [k?.cpuModes && '/proc/stat', m.node_steal && 'node steal time'],
};

function sourcesFor(id: CauseId, userSources: string[], f: Facts): string[] {
  if (CATALOGUE[id].level === 'user-space') return userSources;
  return BELOW_SOURCES[id as Exclude<CauseId, UserSpaceCause>](f.kernel, f.spike.metrics).filter((x): x is string => typeof x === 'string');
}

export function analyse(ev: Evidence): Analysis {
  const facts = deriveFacts(ev);
  const walk: WalkStep[] = [];
  const latency = latencySummary(ev, facts);
  walk.push(latencyStep(latency));

  const findings: Finding[] = [];
  const userSources = userSpaceSources(ev);
  for (const level of LEVELS) {
    const ids = CAUSE_IDS.filter((id) => CATALOGUE[id].level === level);
    if (level !== 'user-space') walk.push({ level, check: `descend to ${level}`, verdict: 'descend', detail: descentReason(level, facts, findings.length > 0) });
    for (const id of ids) {
      const rule = RULES[id];
      const sources = sourcesFor(id, userSources, facts);
      if (sources.length === 0) {
        walk.push({ level, check: CATALOGUE[id].title, cause: id, verdict: 'not-observed', detail: `not observed: needs ${CATALOGUE[id].evidence}` });
        continue;
      }
      const f = rule(ev, facts);
      if (f) findings.push(f);
      walk.push({
        level,
        check: CATALOGUE[id].title,
        cause: id,
        verdict: f ? 'found' : 'clear',
        detail: f ? f.reasons[0] ?? '' : `no sign in ${sources.join(', ')}`,
      });
    }
  }

  discountStalls(findings, facts);
  const ranked = rank(findings);
  // With the latency histogram saying there is no spike, there is nothing for a cause to explain.
  const noSpike = latency?.ratio !== undefined && latency.ratio < SPIKE_RATIO;
  // Except for causes whose delay the server's timer cannot see (lost packets, refused connections).
  const reported = ranked.filter((r) => r.score >= REPORT_THRESHOLD && (!noSpike || r.serverBlind));
  for (const step of walk) {
    const r = ranked.find((x) => x.id === step.cause);
    if (r && !reported.includes(r)) {
      step.verdict = 'weak';
      step.detail = `${noSpike ? 'no latency spike to explain' : 'below the reporting threshold'} (score ${r.score}): ${step.detail}`;
    }
  }
  const { verdict, summary } = decide(ev, reported, latency, walk);
  return { facts, latency, ranked, reported, walk, verdict, summary };
}

function latencySummary(ev: Evidence, f: Facts): LatencySummary | undefined {
  const s = f.spike.metrics.latency_p99, b = f.baseline?.metrics.latency_p99;
  if (!s && !b) return undefined;
  const metric = ev.manifest.target.latencyMetric;
  const found = ev.manifest.collectors.find((c) => c.name === 'prometheus')?.meta?.spike as { chosen?: { peak: number }; ongoing?: boolean } | undefined;
  // The spike's P99 is its worst point; the baseline's is its typical level.
  return {
    metric,
    ongoing: found?.chosen ? found.ongoing : undefined,
    peakSeconds: found?.chosen?.peak,
    spikeP99Seconds: s?.max,
    baselineP99Seconds: b?.mean,
    ratio: s && b && b.mean > 0 ? s.max / b.mean : undefined,
    spikeP50Seconds: f.spike.metrics.latency_p50?.mean,
    baselineP50Seconds: f.baseline?.metrics.latency_p50?.mean,
  };
}

function latencyStep(l: LatencySummary | undefined): WalkStep {
  if (!l || l.spikeP99Seconds === undefined) {
    return { level: 'latency', check: 'P99 spike', verdict: 'not-observed', detail: 'no latency histogram in the bundle: the windows are analysed as given' };
  }
  const spiked = l.ratio === undefined || l.ratio >= SPIKE_RATIO;
  return {
    level: 'latency',
    check: 'P99 spike',
    verdict: spiked ? 'found' : 'clear',
    detail: `P99 ${l.baselineP99Seconds !== undefined ? `${fmtDuration(l.baselineP99Seconds)} (baseline) → ` : ''}${fmtDuration(l.spikeP99Seconds)} (spike)${l.ratio !== undefined ? `, ${fmtNum(l.ratio)}×` : ''}${l.ongoing === true ? '; still ongoing at capture' : l.ongoing === false ? '; the spike had ended before capture' : ''}`,
  };
}

/** User-space causes read from how long goroutines waited: a frozen process inflates all of them. */
const WAIT_CAUSES = new Set<CauseId>(['downstream-latency', 'channel-blocking', 'lock-contention']);

/**
 * While the CFS quota holds the whole process off the CPU, every wait measured inside it (a response
 * that has arrived but cannot be read, a lock holder that cannot run) grows by the stall. Such waits
 * are discounted by the share of the window the process stood throttled.
 */
function discountStalls(findings: Finding[], f: Facts): void {
  const cg = f.kernel?.cgroup;
  if (!cg?.throttledSeconds || !f.kernel) return;
  const stalled = Math.min(1, cg.throttledSeconds / f.kernel.seconds);
  if (stalled < 0.1) return;
  for (const x of findings) {
    if (!WAIT_CAUSES.has(x.id)) continue;
    x.effect *= 1 - stalled;
    x.reasons.push(`But CPU throttling held the whole process off the CPU for ${fmtPct(stalled)} of the capture: waits measured inside it include that stall, so this is discounted by as much.`);
  }
}

/** A P99 at least this many times the baseline is a spike worth explaining. */
export const SPIKE_RATIO = 1.5;

function descentReason(level: Level, f: Facts, userFound: boolean): string {
  if (level === 'hardware') return 'kernel waits are where interrupts and steal show up: checking softirq, hardirq and steal time';
  const sys = stateShare(f, ['syscall', 'netpoll']);
  if (sys && sys.spike >= 0.2) return `${fmtPct(sys.spike)} of request time is spent in syscalls or network I/O: looking for the kernel wait reason`;
  const run = stateShare(f, ['unaccounted']);
  if (run && run.explained >= 0.3) return `${fmtPct(run.spike)} of request time is neither on CPU nor in a Go-level wait (runnable, or waiting in the kernel): checking CPU quota and run queues`;
  if (!userFound) return 'no Go runtime cause explains the spike: looking below the runtime';
  return 'checking the kernel too, for causes that compound the user-space ones';
}

function decide(ev: Evidence, reported: Ranked[], l: LatencySummary | undefined, walk: WalkStep[]): Pick<Analysis, 'verdict' | 'summary'> {
  const spiked = l?.ratio !== undefined && l.ratio >= SPIKE_RATIO;
  if (reported.length > 0) {
    // Every reported cause explains part of the spike: with two or more, the summary names the top two.
    const together = reported.slice(0, 2);
    const names = together.map((r) => `${r.id} (score ${r.score})`);
    const lat = l?.spikeP99Seconds !== undefined ? ` P99 ${l.baselineP99Seconds !== undefined ? fmtDuration(l.baselineP99Seconds) + ' → ' : ''}${fmtDuration(l.spikeP99Seconds)}.` : '';
    if (l?.ratio !== undefined && !spiked) {
      return { verdict: 'cause-found', summary: `The server's own P99 shows no spike (${fmtNum(l.ratio)}×), but ${names.join(' together with ')} adds latency outside its timer: clients see it, the server's histogram cannot.` };
    }
    return { verdict: 'cause-found', summary: `The P99 spike is caused by ${names.join(' together with ')}${together.length > 1 ? ': two causes at once' : ''}.${lat}` };
  }
  const p = ev.spike.profiles;
  const profilesOk = !!p.cpu && !!p.goroutine;
  if (!spiked && l?.ratio !== undefined && profilesOk) {
    return { verdict: 'no-cause-found', summary: `No cause found: P99 ${fmtDuration(l.baselineP99Seconds!)} → ${fmtDuration(l.spikeP99Seconds!)} is no spike, so there is nothing to explain. The service looks healthy.` };
  }
  if (!spiked && profilesOk && l?.ratio === undefined) {
    return { verdict: 'no-cause-found', summary: 'No cause found: nothing in the evidence points at a cause (no latency series to confirm a spike).' };
  }
  const unseen = walk.filter((w) => w.verdict === 'not-observed' && w.cause).map((w) => w.cause!);
  const missing = [!p.cpu && 'CPU profile', !p.goroutine && 'goroutine profile', unseen.length && `evidence for ${unseen.join(', ')}`].filter(Boolean).join('; ');
  return {
    verdict: 'inconclusive',
    summary: `Inconclusive: ${spiked ? `P99 rose ${fmtNum(l!.ratio!)}× but ` : ''}no cause in the collected evidence explains it.${missing ? ` Not observed: ${missing}.` : ''}`,
  };
}
