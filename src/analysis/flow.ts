/**
 * The decision flow: user-space block → kernel wait → hardware interrupt. The flow only orders the
 * rules and records each step (what was checked, on which evidence, the verdict, why it went deeper);
 * the rules decide, rank.ts scores.
 */
import type { Evidence } from '../evidence/model.js';
import { fmtDuration, fmtNum, fmtPct } from '../util/num.js';
import { CATALOGUE, CAUSE_IDS, LEVELS, type CauseId, type Level } from './catalogue.js';
import { RULES } from './causes/index.js';
import { deriveFacts, type Facts } from './features.js';
import { stateShare } from './finding.js';
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

/** Which evidence each level reads; a level with none of it collected is "not observed". */
const LEVEL_EVIDENCE: Record<Level, (ev: Evidence) => string[]> = {
  'user-space': (ev) => {
    const have: string[] = [];
    for (const [k, p] of Object.entries(ev.spike.profiles)) if (p) have.push(`${k} profile`);
    if (Object.keys(ev.metrics).some((k) => k.startsWith('gc_') || k === 'goroutines' || k === 'alloc_rate')) have.push('Go runtime metrics');
    return have;
  },
  // No kernel/hardware collectors are read yet (bpftrace, procfs, cgroup, node metrics).
  kernel: () => [],
  hardware: () => [],
};

export function analyse(ev: Evidence): Analysis {
  const facts = deriveFacts(ev);
  const walk: WalkStep[] = [];
  const latency = latencySummary(ev, facts);
  walk.push(latencyStep(latency));

  const findings = [];
  for (const level of LEVELS) {
    const sources = LEVEL_EVIDENCE[level](ev);
    const ids = CAUSE_IDS.filter((id) => CATALOGUE[id].level === level);
    if (level !== 'user-space') walk.push({ level, check: `descend to ${level}`, verdict: 'descend', detail: descentReason(level, facts, findings.length > 0) });
    for (const id of ids) {
      const rule = RULES[id];
      if (!rule || sources.length === 0) {
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

  const ranked = rank(findings);
  // With the latency histogram saying there is no spike, there is nothing for a cause to explain.
  const noSpike = latency?.ratio !== undefined && latency.ratio < SPIKE_RATIO;
  const reported = noSpike ? [] : ranked.filter((r) => r.score >= REPORT_THRESHOLD);
  for (const step of walk) {
    const r = ranked.find((x) => x.id === step.cause);
    if (r && !reported.includes(r)) {
      step.verdict = 'weak';
      step.detail = `${noSpike ? 'no latency spike to explain' : 'below the reporting threshold'} (score ${r.score}): ${step.detail}`;
    }
  }
  const { verdict, summary } = decide(ev, reported, latency);
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

function decide(ev: Evidence, reported: Ranked[], l: LatencySummary | undefined): Pick<Analysis, 'verdict' | 'summary'> {
  if (reported.length > 0) {
    const names = reported.slice(0, 2).map((r) => `${r.id} (score ${r.score})`);
    const lat = l?.spikeP99Seconds !== undefined ? ` P99 ${l.baselineP99Seconds !== undefined ? fmtDuration(l.baselineP99Seconds) + ' → ' : ''}${fmtDuration(l.spikeP99Seconds)}.` : '';
    return { verdict: 'cause-found', summary: `The P99 spike is caused by ${names.join(' together with ')}.${lat}` };
  }
  const spiked = l?.ratio !== undefined && l.ratio >= SPIKE_RATIO;
  const p = ev.spike.profiles;
  const profilesOk = !!p.cpu && !!p.goroutine;
  if (!spiked && l?.ratio !== undefined && profilesOk) {
    return { verdict: 'no-cause-found', summary: `No cause found: P99 ${fmtDuration(l.baselineP99Seconds!)} → ${fmtDuration(l.spikeP99Seconds!)} is no spike, so there is nothing to explain. The service looks healthy.` };
  }
  if (!spiked && profilesOk && l?.ratio === undefined) {
    return { verdict: 'no-cause-found', summary: 'No cause found: nothing in the evidence points at a cause (no latency series to confirm a spike).' };
  }
  const missing = [!p.cpu && 'CPU profile', !p.goroutine && 'goroutine profile', 'kernel and hardware evidence'].filter(Boolean).join(', ');
  return {
    verdict: 'inconclusive',
    summary: `Inconclusive: ${spiked ? `P99 rose ${fmtNum(l!.ratio!)}× but ` : ''}no cause in the collected evidence explains it. Not observed: ${missing}.`,
  };
}
