/** The time window of a command: `--from`/`--to` (ISO 8601 or unix seconds) or `--window` ending at `--to`. */
import { usageError } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/** The window flags, parsed; what they leave open is decided by resolveWindow. */
export interface Times {
  from?: number;
  to?: number;
  windowSeconds?: number;
}

/** --from, --to, --window → numbers (unix seconds); contradictions are usage errors. */
export function parseTimes(f: { from?: string; to?: string; window?: string }): Times {
  if (f.window !== undefined && f.from !== undefined) throw usageError('--window and --from are alternatives', 'give --window (ending at --to or now) or --from and --to');
  const t: Times = {
    from: f.from === undefined ? undefined : parseTime(f.from, '--from'),
    to: f.to === undefined ? undefined : parseTime(f.to, '--to'),
    windowSeconds: f.window === undefined ? undefined : parseDuration(f.window, '--window', { min: 1, max: 31 * 86400 }),
  };
  if (t.from !== undefined && t.to !== undefined && t.from >= t.to) throw usageError(`--from ${f.from} is not before --to ${f.to}`);
  return t;
}

/** ISO 8601 with a date, or unix seconds. */
function parseTime(text: string, flag: string): number {
  const s = text.trim();
  const t = /^\d+(\.\d+)?$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) / 1000 : NaN;
  if (!Number.isFinite(t)) throw usageError(`${flag} ${JSON.stringify(text)} is not a time`, `use ISO 8601 (${flag} 2026-11-21T18:00:00Z) or unix seconds`);
  return t;
}

/** The window from the flags; what they leave open comes from `fallback` (a bundle's span), else it ends now and lasts 10 minutes. */
export function resolveWindow(t: Times, fallback?: { start: number; end: number }): { start: number; end: number } {
  const end = t.to ?? fallback?.end ?? Math.floor(Date.now() / 1000);
  const start = t.from ?? (t.windowSeconds !== undefined ? end - t.windowSeconds : fallback?.start ?? end - 600);
  if (start >= end) throw usageError(`the window ${iso(start)} → ${iso(end)} is empty`, 'give --from before --to, or a positive --window');
  return { start, end };
}

const iso = (t: number) => new Date(t * 1000).toISOString();
