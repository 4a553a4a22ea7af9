/** The parsed form of bpftrace output, shared by its text and JSON formats. Pure. */
import { inputError } from '../../errors.js';

/** One part of a map key: a number (all-digit parts), a string, or a stack (frames leaf first, as printed). */
export type BpfKeyPart = number | string | string[];
/** A map key split into its parts; `[]` for a map without keys. */
export type BpfKey = BpfKeyPart[];

/**
 * Open ends of the outermost hist/lhist buckets (`(..., 0)`, `[100, ...)`). Safe integers rather than
 * ±Infinity so that the model survives JSON (evidence bundles); no real bound comes near them.
 */
export const OPEN_LOW = Number.MIN_SAFE_INTEGER;
export const OPEN_HIGH = Number.MAX_SAFE_INTEGER;

/** A histogram bucket [lo, hi); see OPEN_LOW / OPEN_HIGH for open ends. */
export interface HistBucket {
  lo: number;
  hi: number;
  count: number;
}

export type BpfMap =
  | { kind: 'scalar'; value: number }
  | { kind: 'values'; entries: Array<{ key: BpfKey; value: number }> }
  | { kind: 'hist'; entries: Array<{ key: BpfKey; buckets: HistBucket[] }> }
  | { kind: 'stats'; entries: Array<{ key: BpfKey; count: number; average: number; total: number }> };

export type BpfMapKind = BpfMap['kind'];

export interface BpfOutput {
  /** Maps by name as bpftrace prints them, with the `@`: `@runq_us`. */
  maps: Record<string, BpfMap>;
  /** printf output and any other non-map line, in order. */
  printed: string[];
  /** From `Attaching N probes...`: fewer than a script declares means a probe was skipped. */
  attachedProbes?: number;
  /** Perf-buffer events bpftrace reported lost (printf output only; maps are exact). */
  lostEvents?: number;
}

/** Where a value came from, for error messages: `source:line`. */
export interface Origin {
  source: string;
  line: number;
}

/** The input error for a bad spot in bpftrace output: `source:line: what`. */
export const parseFailure = (o: Origin, what: string) =>
  inputError(`${o.source}:${o.line}: ${what}`, 'is this the output of a p99sleuth bpftrace script (text or -f json)?');

/**
 * Accumulates maps entry by entry and merges entries with equal keys: bpftrace can print identical
 * stacks as separate entries (different stack ids that symbolise alike), so values add up.
 */
export class MapBuilder {
  private readonly maps = new Map<string, { kind: BpfMapKind; byKey: Map<string, Entry> }>();

  add(name: string, key: BpfKey, value: Value, o: Origin): void {
    let m = this.maps.get(name);
    if (!m) this.maps.set(name, (m = { kind: value.kind, byKey: new Map() }));
    if (m.kind !== value.kind) throw parseFailure(o, `${name} mixes ${m.kind} and ${value.kind} entries`);
    const id = JSON.stringify(key);
    const prev = m.byKey.get(id);
    if (!prev) m.byKey.set(id, { key, value: cloneValue(value) });
    else mergeInto(prev.value, value);
  }

  build(): Record<string, BpfMap> {
    const out: Record<string, BpfMap> = {};
    for (const [name, m] of this.maps) {
      const entries = [...m.byKey.values()];
      normaliseStackParts(entries);
      out[name] = toMap(m.kind, entries);
    }
    return out;
  }
}

/** A parsed value before it is placed in a map: unkeyed numbers become scalars. */
export type Value =
  | { kind: 'scalar' | 'values'; value: number }
  | { kind: 'hist'; buckets: HistBucket[] }
  | { kind: 'stats'; count: number; average: number; total: number };

interface Entry {
  key: BpfKey;
  value: Value;
}

function cloneValue(v: Value): Value {
  return v.kind === 'hist' ? { kind: 'hist', buckets: v.buckets.map((b) => ({ ...b })) } : { ...v };
}

function mergeInto(into: Value, v: Value): void {
  if ((into.kind === 'scalar' || into.kind === 'values') && (v.kind === 'scalar' || v.kind === 'values')) {
    into.value += v.value;
  } else if (into.kind === 'stats' && v.kind === 'stats') {
    into.count += v.count;
    into.total += v.total;
    into.average = into.count > 0 ? Math.trunc(into.total / into.count) : 0; // bpftrace's integer average
  } else if (into.kind === 'hist' && v.kind === 'hist') {
    for (const b of v.buckets) {
      const same = into.buckets.find((x) => x.lo === b.lo && x.hi === b.hi);
      if (same) same.count += b.count;
      else into.buckets.push({ ...b });
    }
    into.buckets.sort((a, b) => a.lo - b.lo);
  }
}

/** An empty stack prints as an empty string: where other entries have a stack in that position, make it []. */
function normaliseStackParts(entries: Entry[]): void {
  const stackAt = new Set<number>();
  for (const e of entries) e.key.forEach((p, i) => Array.isArray(p) && stackAt.add(i));
  for (const e of entries) for (const i of stackAt) if (e.key[i] === '') e.key[i] = [];
}

function toMap(kind: BpfMapKind, entries: Entry[]): BpfMap {
  switch (kind) {
    case 'scalar':
      return { kind, value: entries.reduce((t, e) => t + (e.value as { value: number }).value, 0) };
    case 'values':
      return { kind, entries: entries.map((e) => ({ key: e.key, value: (e.value as { value: number }).value })) };
    case 'hist':
      return { kind, entries: entries.map((e) => ({ key: e.key, buckets: (e.value as { buckets: HistBucket[] }).buckets })) };
    case 'stats':
      return {
        kind,
        entries: entries.map((e) => {
          const s = e.value as { count: number; average: number; total: number };
          return { key: e.key, count: s.count, average: s.average, total: s.total };
        }),
      };
  }
}

/**
 * Split the inside of `@m[...]` into parts. Parts are separated by `sep` (", " in text, "," in JSON);
 * a stack part is "\n<indent>frame\n...\n" and may contain the separator inside frames (Go generics).
 */
export function splitKey(s: string, sep: string, o: Origin): BpfKey {
  const parts: BpfKey = [];
  let i = 0;
  for (;;) {
    if (s[i] === '\n') {
      const frames: string[] = [];
      // A stack ends at a newline followed by the separator or by the end of the key.
      while (i + 1 < s.length && !s.startsWith(sep, i + 1)) {
        const nl = s.indexOf('\n', i + 1);
        if (nl < 0) throw parseFailure(o, `unterminated stack in key: ${JSON.stringify(s.slice(0, 80))}`);
        frames.push(s.slice(i + 1, nl).trim());
        i = nl;
      }
      parts.push(frames);
      i += 1;
    } else {
      const end = s.indexOf(sep, i);
      parts.push(scalarPart(s.slice(i, end < 0 ? s.length : end)));
      i = end < 0 ? s.length : end;
    }
    if (i >= s.length) return parts;
    if (!s.startsWith(sep, i)) throw parseFailure(o, `cannot split key ${JSON.stringify(s.slice(0, 80))}`);
    i += sep.length;
    if (i === s.length) {
      parts.push('');
      return parts;
    }
  }
}

function scalarPart(s: string): number | string {
  if (/^-?\d+$/.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return n;
  }
  return s;
}
