/**
 * Two snapshots of the same files and what to do when one is missing or unreadable: the small toolkit
 * every kernelDelta section uses. An absent or unparsable file becomes a line in `gaps`, never a throw.
 */
import { SleuthError } from '../../errors.js';
import { parsePsi, type Psi } from './formats.js';
import type { PsiDelta, PsiSet } from './parse.js';

export type Snapshot = Record<string, string>;
export interface Ctx { before: Snapshot; after: Snapshot; seconds: number; gaps: string[] }

/** A counter's increase; a counter that went backwards (reset, reused TID) counts as 0. */
export const d = (a: number, b: number) => Math.max(0, a - b);
export const sum = (xs: number[]) => xs.reduce((t, x) => t + x, 0);

/** Parse, turning an input error into a gap. */
export function safe<T>(c: Ctx, key: string, text: string | undefined, parse: (t: string, f: string) => T): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text, key);
  } catch (err) {
    if (!(err instanceof SleuthError)) throw err;
    c.gaps.push(err.message);
    return undefined;
  }
}

/** Both snapshots of `key`, parsed; a gap (with `why` when absent from both) otherwise. */
export function both<T>(c: Ctx, key: string, parse: (t: string, f: string) => T, why?: string): [T, T] | undefined {
  const [b, a] = [c.before[key], c.after[key]];
  if (b === undefined || a === undefined) {
    if (b !== undefined || a !== undefined) c.gaps.push(`${key} is missing from the ${b === undefined ? 'before' : 'after'} snapshot`);
    else if (why !== undefined) c.gaps.push(`${key} absent: ${why}`);
    return undefined;
  }
  const pb = safe(c, key, b, parse);
  const pa = safe(c, key, a, parse);
  return pb === undefined || pa === undefined ? undefined : [pb, pa];
}

/** The after-snapshot value of a file (limits and gauges). */
export function last<T>(c: Ctx, key: string, parse: (t: string, f: string) => T): T | undefined {
  if (c.after[key] === undefined) c.gaps.push(`${key} absent from the after snapshot`);
  return safe(c, key, c.after[key], parse);
}

/** Delta of one key of two flat-keyed files; undefined when either lacks it. */
export const keyDelta = (p: [Record<string, number>, Record<string, number>] | undefined, k: string) =>
  p && p[0][k] !== undefined && p[1][k] !== undefined ? d(p[1][k], p[0][k]) : undefined;

/** Stall seconds and fractions of the window from two PSI readings. */
export function psiDelta(b: Psi, a: Psi, seconds: number, withFull: boolean): PsiDelta {
  const someSeconds = d(a.some.totalUs, b.some.totalUs) / 1e6;
  const out: PsiDelta = { someSeconds, someFraction: Math.min(1, someSeconds / seconds) };
  if (withFull && a.full && b.full) {
    out.fullSeconds = d(a.full.totalUs, b.full.totalUs) / 1e6;
    out.fullFraction = Math.min(1, out.fullSeconds / seconds);
  }
  return out;
}

/** PSI deltas of the cpu/io/memory files named by `key`; `system` for /proc/pressure. */
export function psiSet(c: Ctx, key: (resource: string) => string, why: string | undefined, system: boolean): PsiSet {
  const out: PsiSet = {};
  for (const r of ['cpu', 'io', 'memory'] as const) {
    const p = both(c, key(r), parsePsi, why);
    // System-wide "full" for cpu is undefined; kernels since 5.13 print it as a constant 0.
    if (p) out[r] = psiDelta(p[0], p[1], c.seconds, !(system && r === 'cpu'));
  }
  return out;
}

// Drop undefined fields so that "absent" means absent in JSON and in `in` checks.
export function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}
