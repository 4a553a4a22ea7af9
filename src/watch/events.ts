/**
 * The event lines of `watch`: one line per event on stdout, text for people or JSON Lines for
 * programs. A discriminated union with one formatter per kind, so a new kind must be printable.
 */
import { fmtDuration } from '../util/num.js';

export type WatchEvent =
  | { kind: 'start'; target: string; source: string; thresholdSeconds: number; forSeconds: number }
  | { kind: 'baseline'; p99Seconds: number; bundle: string; ok: boolean; message?: string }
  | { kind: 'spike'; p99Seconds: number; thresholdSeconds: number; breachSeconds: number; bundle: string; complete: boolean; baseline?: string; topCause?: { id: string; score: number }; verdict?: string; message?: string }
  | { kind: 'spike-failed'; p99Seconds: number; message: string }
  | { kind: 'suppressed'; p99Seconds: number; thresholdSeconds: number; cooldownLeftSeconds: number }
  | { kind: 'pruned'; bundle: string }
  | { kind: 'poll-error'; message: string }
  | { kind: 'stop'; reason: string; spikes: number; baselines: number };

type Of<K extends WatchEvent['kind']> = Extract<WatchEvent, { kind: K }>;

// `412ms`, not `412 ms`: an event line splits on spaces.
const ms = (s: number) => fmtDuration(s).replace(' ', '');
const secs = (s: number) => `${Math.round(s)}s`;

const TEXT: { [K in WatchEvent['kind']]: (e: Of<K>) => string } = {
  start: (e) => `watching ${e.target} via ${e.source}: spike when p99>${ms(e.thresholdSeconds)} for ${secs(e.forSeconds)}`,
  baseline: (e) => (e.ok ? `baseline p99=${ms(e.p99Seconds)} → captured ${e.bundle}` : `baseline p99=${ms(e.p99Seconds)} → failed: ${e.message ?? 'unknown'}`),
  spike: (e) =>
    `spike p99=${ms(e.p99Seconds)}>${ms(e.thresholdSeconds)} for ${secs(e.breachSeconds)} → captured ${e.bundle}${e.complete ? '' : ' (partial)'}; ` +
    (e.topCause ? `top cause: ${e.topCause.id} (${e.topCause.score.toFixed(2)})` : e.message ? `analysis failed: ${e.message}` : `no cause found`) +
    (e.baseline ? '' : '; no baseline yet'),
  'spike-failed': (e) => `spike p99=${ms(e.p99Seconds)} → capture failed: ${e.message}`,
  suppressed: (e) => `breach p99=${ms(e.p99Seconds)}>${ms(e.thresholdSeconds)} within cooldown → not captured (${secs(e.cooldownLeftSeconds)} left)`,
  pruned: (e) => `pruned ${e.bundle} (--max-bundles)`,
  'poll-error': (e) => `poll failed: ${e.message}`,
  stop: (e) => `stopped (${e.reason}): ${e.spikes} spike bundle(s), ${e.baselines} baseline(s)`,
};

/** One line (no newline) for an event at `at`, as text or one JSON object. */
export function formatEvent(e: WatchEvent, at: Date, format: 'text' | 'json'): string {
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (format === 'json') return JSON.stringify({ time, ...e });
  return `${time} ${(TEXT[e.kind] as (x: WatchEvent) => string)(e)}`;
}
