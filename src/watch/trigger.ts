/**
 * When watch captures: a pure state machine fed one P99 reading per poll with the time it was
 * taken. No clock, no I/O — tests drive it with a fake clock.
 *   spike      P99 above the threshold on every poll for at least `forSeconds`, outside the cooldown
 *   suppressed the same, but within the cooldown of the last spike capture (said once per breach)
 *   baseline   P99 at or below the threshold and the last baseline older than `baselineEverySeconds`
 */
export interface TriggerConfig {
  thresholdSeconds: number;
  forSeconds: number;
  cooldownSeconds: number;
  baselineEverySeconds: number;
}

export interface TriggerState {
  /** When the current breach was first seen (undefined: calm). */
  breachSince?: number;
  lastSpikeAt?: number;
  lastBaselineAt?: number;
  /** The current breach was already reported as suppressed. */
  suppressedSaid?: boolean;
}

export type Decision =
  | { action: 'none' }
  | { action: 'spike'; p99Seconds: number; breachSeconds: number }
  | { action: 'suppressed'; p99Seconds: number; cooldownLeftSeconds: number }
  | { action: 'baseline'; p99Seconds: number };

/** A fresh state: calm, nothing captured yet. */
export const initialState = (): TriggerState => ({});

/**
 * The decision for a reading at `now` (seconds). `p99Seconds` undefined means no request in the
 * interval: neither a breach nor a calm period worth profiling, and it ends a breach.
 * A capture that then fails still counts: the cooldown and baseline interval bound the overhead.
 */
export function decide(c: TriggerConfig, s: TriggerState, p99Seconds: number | undefined, now: number): { state: TriggerState; decision: Decision } {
  if (p99Seconds === undefined) return { state: { ...s, breachSince: undefined, suppressedSaid: false }, decision: { action: 'none' } };
  if (p99Seconds > c.thresholdSeconds) {
    const since = s.breachSince ?? now;
    const breachSeconds = now - since;
    const state = { ...s, breachSince: since };
    if (breachSeconds < c.forSeconds) return { state, decision: { action: 'none' } };
    if (s.lastSpikeAt !== undefined && now - s.lastSpikeAt < c.cooldownSeconds) {
      if (s.suppressedSaid) return { state, decision: { action: 'none' } };
      return { state: { ...state, suppressedSaid: true }, decision: { action: 'suppressed', p99Seconds, cooldownLeftSeconds: c.cooldownSeconds - (now - s.lastSpikeAt) } };
    }
    // The capture starts now; a breach that lasts past the cooldown is captured again.
    return { state: { ...state, lastSpikeAt: now, suppressedSaid: false }, decision: { action: 'spike', p99Seconds, breachSeconds } };
  }
  const calm = { ...s, breachSince: undefined, suppressedSaid: false };
  if (s.lastBaselineAt === undefined || now - s.lastBaselineAt >= c.baselineEverySeconds) {
    return { state: { ...calm, lastBaselineAt: now }, decision: { action: 'baseline', p99Seconds } };
  }
  return { state: calm, decision: { action: 'none' } };
}
