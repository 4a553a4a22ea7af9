/** Durations on the command line: `500ms`, `15s`, `30m`, `2h` (Prometheus style). */
import { usageError } from '../errors.js';

const UNIT: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, or a usage error naming the flag. */
export function parseDuration(text: string, flag: string, limits: { min?: number; max?: number } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw usageError(`${flag} ${JSON.stringify(text)} is not a duration`, `use a number with a unit, e.g. ${flag} 15s, 30m, 2h`);
  const s = Number(m[1]) * UNIT[m[2]];
  if (limits.min !== undefined && s < limits.min) throw usageError(`${flag} ${text} is too short (minimum ${limits.min} s)`);
  if (limits.max !== undefined && s > limits.max) throw usageError(`${flag} ${text} is too long (maximum ${limits.max} s)`);
  return s;
}

/** Prometheus duration literal for a number of seconds (`90s`). */
export const promDuration = (seconds: number) => `${Math.max(1, Math.round(seconds))}s`;
