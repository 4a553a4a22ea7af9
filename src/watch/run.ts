/**
 * The watch loop: poll P99, feed the trigger, and act on its decision — a calm-period baseline,
 * a spike capture (engine + baseline copy + analysis + pruning), or a "suppressed" line. One poll at
 * a time and one capture at a time, so overhead is bounded and nothing overlaps. Stops on `signal`.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CaptureResult } from '../capture/engine.js';
import type { TargetDescription } from '../evidence/manifest.js';
import { SleuthError, describe } from '../errors.js';
import { sleep, type CollectorHooks, type PprofTarget } from '../sources/pprof/capture.js';
import type { Progress } from '../ui/progress.js';
import { attachBaseline, captureBaseline } from './baseline.js';
import type { WatchEvent } from './events.js';
import type { P99Poller } from './poll.js';
import { pruneOldest } from './prune.js';
import { writeBundleReport } from './report.js';
import { decide, initialState, type TriggerConfig } from './trigger.js';

/** A target as watch needs it: a P99 reading, profiles for a baseline, and a full capture. */
export interface WatchTarget {
  description: string;
  poller: P99Poller;
  /** A pprof endpoint held for one baseline capture; `release` ends whatever made it reachable. */
  baselinePprof(signal: AbortSignal): Promise<{ pprof: PprofTarget; target: TargetDescription; release(): Promise<void> }>;
  /** A full capture (the engine's) into a new bundle at `out`. */
  captureSpike(out: string, progress: Progress, signal: AbortSignal): Promise<CaptureResult>;
  /** Stop whatever the target holds open for the whole watch (a port-forward for /metrics). */
  close?(): Promise<void>;
}

export interface WatchConfig extends TriggerConfig {
  intervalSeconds: number;
  /** Capture length of spike and baseline profiles. */
  durationSeconds: number;
  maxBundles: number;
  outDir: string;
  flamegraphs: boolean;
}

export interface WatchIo {
  emit(e: WatchEvent): void;
  progress: Progress;
  /** Seconds since the epoch (a test may pass a fake clock). */
  now?: () => number;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

/** A new, unused directory name `<dir>/<prefix>-<UTC time>[-n]`. */
async function freshDir(dir: string, prefix: string): Promise<string> {
  const taken = new Set(await readdir(dir).catch(() => []));
  const base = `${prefix}-${stamp(new Date())}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!taken.has(name)) return path.join(dir, name);
  }
}

/** Watch until `signal` aborts; resolves with what was captured. */
export async function runWatch(t: WatchTarget, c: WatchConfig, io: WatchIo, signal: AbortSignal): Promise<{ spikes: number; baselines: number }> {
  const now = io.now ?? (() => Date.now() / 1000);
  const created: string[] = [];
  const baselineDir = path.join(c.outDir, 'baselines');
  let baseline: string | undefined;
  let state = initialState();
  let spikes = 0;
  let baselines = 0;
  let lastPollError: string | undefined;
  const interrupted = (err: unknown) => signal.aborted || (err instanceof SleuthError && err.kind === 'interrupted');

  while (!signal.aborted) {
    const started = now();
    let p99: number | undefined;
    let polled = false;
    try {
      p99 = await t.poller.poll(signal);
      polled = true;
      lastPollError = undefined;
    } catch (err) {
      if (interrupted(err)) break;
      // A source that stays down is said once, not every poll.
      const message = `${describe(err)}${err instanceof SleuthError && err.hint ? ` (${err.hint})` : ''}`;
      if (message !== lastPollError) io.emit({ kind: 'poll-error', message });
      lastPollError = message;
    }
    if (polled) {
      const next = decide(c, state, p99, now());
      state = next.state;
      const d = next.decision;
      try {
        if (d.action === 'suppressed') io.emit({ kind: 'suppressed', p99Seconds: d.p99Seconds, thresholdSeconds: c.thresholdSeconds, cooldownLeftSeconds: d.cooldownLeftSeconds });
        else if (d.action === 'baseline') {
          const b = await takeBaseline(t, c, baselineDir, io, signal);
          // Cut short, it stays on disk marked partial but neither replaces the last whole one nor is announced.
          if (signal.aborted) break;
          if (b.ok) {
            if (baseline) await rm(baseline, { recursive: true, force: true });
            baseline = b.dir;
            baselines++;
          } else await rm(b.dir, { recursive: true, force: true });
          io.emit({ kind: 'baseline', p99Seconds: d.p99Seconds, bundle: b.dir, ok: b.ok, message: b.message });
        } else if (d.action === 'spike') {
          const dir = await freshDir(c.outDir, 'spike');
          const r = await t.captureSpike(dir, io.progress, signal).catch((err: unknown) => err as Error);
          if (r instanceof Error) {
            if (interrupted(r)) break;
            io.emit({ kind: 'spike-failed', p99Seconds: d.p99Seconds, message: `${describe(r)}${r instanceof SleuthError && r.hint ? ` (${r.hint})` : ''}` });
          } else {
            spikes++;
            created.push(r.dir);
            const attached = baseline ? await attachBaseline(r.dir, baseline) : [];
            // On Ctrl-C the partial bundle is kept as is; analysing it can wait for `analyze`.
            const report = r.interrupted ? undefined : await writeBundleReport(r.dir, c.flamegraphs).catch((err: unknown) => err as Error);
            const top = report && !(report instanceof Error) ? report.causes[0] : undefined;
            io.emit({
              kind: 'spike',
              p99Seconds: d.p99Seconds,
              thresholdSeconds: c.thresholdSeconds,
              breachSeconds: d.breachSeconds,
              bundle: r.dir,
              complete: !r.interrupted,
              // Only a baseline actually attached (not one of another pod) counts.
              baseline: attached.length ? baseline : undefined,
              topCause: top ? { id: top.id, score: top.score } : undefined,
              verdict: report && !(report instanceof Error) ? report.verdict : undefined,
              message: report instanceof Error ? describe(report) : undefined,
            });
            for (const gone of await pruneOldest(created, c.maxBundles)) io.emit({ kind: 'pruned', bundle: gone });
          }
        }
      } catch (err) {
        if (interrupted(err)) break;
        throw err;
      }
    }
    const wait = c.intervalSeconds - (now() - started);
    if (wait > 0) await sleep(wait * 1000, signal).catch(() => undefined);
  }
  return { spikes, baselines };
}

async function takeBaseline(t: WatchTarget, c: WatchConfig, dir: string, io: WatchIo, signal: AbortSignal) {
  const out = await freshDir(dir, 'baseline');
  let held: Awaited<ReturnType<WatchTarget['baselinePprof']>> | undefined;
  try {
    held = await t.baselinePprof(signal);
    const hooks: CollectorHooks = { start: (n) => io.progress.start(n), done: (e) => io.progress.done(`${e.name} (baseline)`, e.status, e.message) };
    return await captureBaseline(held.pprof, out, c.durationSeconds, held.target, signal, hooks);
  } catch (err) {
    if (signal.aborted || (err instanceof SleuthError && err.kind === 'interrupted')) throw err;
    return { dir: out, ok: false, message: describe(err) };
  } finally {
    await held?.release();
  }
}
