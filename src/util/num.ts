/** Numeric helpers shared by parsers and rules. */

/** pprof-format yields `number | bigint`; int64 fields may come back unsigned. Normalise to a JS number. */
export function toNumber(v: number | bigint | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return Number(BigInt.asIntN(64, v));
}

export const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Human formatting with units, for reasons and reports. */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const a = Math.abs(seconds);
  if (a >= 1) return `${round(seconds, 2)} s`;
  if (a >= 1e-3) return `${round(seconds * 1e3, a >= 0.1 ? 0 : 1)} ms`;
  if (a >= 1e-6) return `${round(seconds * 1e6, 0)} µs`;
  return `${round(seconds * 1e9, 0)} ns`;
}

export function fmtBytes(bytes: number): string {
  const a = Math.abs(bytes);
  if (a >= 1 << 30) return `${round(bytes / (1 << 30), 1)} GiB`;
  if (a >= 1 << 20) return `${round(bytes / (1 << 20), 1)} MiB`;
  if (a >= 1 << 10) return `${round(bytes / (1 << 10), 1)} KiB`;
  return `${Math.round(bytes)} B`;
}

export const fmtPct = (fraction: number, digits = 0) => `${round(fraction * 100, digits)}%`;

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return '?';
  const a = Math.abs(x);
  if (a >= 100) return String(Math.round(x));
  if (a >= 10) return String(round(x, 1));
  return String(round(x, 2));
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
