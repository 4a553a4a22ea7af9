/**
 * A store's merged profile → a profile our loader reads like a captured one. Pure.
 * A merge sums every profile of every series in the window, so: delta types (CPU, and allocs/block/
 * mutex where the store keeps deltas) are totals over the window, and `durationNanos` is set to the
 * window so per-second diffs divide by the right time; gauges (goroutine, in-use heap) are divided
 * by the snapshots each series contributed, giving the window's mean.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile, ValueType } from 'pprof-format';
import { inputError } from '../../errors.js';
import { toNumber } from '../../util/num.js';

export interface MergeAdjust {
  startMs: number;
  endMs: number;
  /** Divide values by this (snapshots per series of a gauge); 1 for delta types. */
  snapshots: number;
  /** The store has CPU only as sample counts: rewrite them as cpu/nanoseconds (count × period). */
  cpuFromSamples?: boolean;
  /** Names the response in errors. */
  source: string;
}

export interface Normalised {
  /** gzipped pprof, as net/http/pprof serves it. */
  bytes: Uint8Array;
  samples: number;
  sampleTypes: string[];
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decode a store's merged pprof; an empty answer (no bytes, or no samples) gives `samples: 0`. */
export function normaliseMerged(raw: Uint8Array, a: MergeAdjust): Normalised {
  const hint = 'the store answered with something that is not a pprof profile: check that --profiles-from names a Parca or Pyroscope API';
  if (raw.length === 0) return { bytes: new Uint8Array(), samples: 0, sampleTypes: [] };
  let p: Profile;
  try {
    p = Profile.decode(isGzip(raw) ? gunzipSync(raw) : raw);
  } catch (err) {
    throw inputError(`${a.source}: not a pprof profile (${(err as Error).message})`, hint);
  }
  const strings = p.stringTable.strings;
  const str = (i: number | bigint | undefined) => strings[toNumber(i)] ?? '';
  if (p.sample.length === 0) return { bytes: new Uint8Array(), samples: 0, sampleTypes: p.sampleType.map((t) => str(t.type)) };

  if (a.cpuFromSamples) {
    const i = p.sampleType.findIndex((t) => str(t.type) === 'samples');
    const period = toNumber(p.period);
    if (i >= 0 && period > 0 && str(p.periodType?.unit) === 'nanoseconds') {
      p.sampleType[i] = new ValueType({ type: p.stringTable.dedup('cpu'), unit: p.stringTable.dedup('nanoseconds') });
      for (const s of p.sample) s.value[i] = toNumber(s.value[i]) * period;
    }
  }
  if (a.snapshots > 1) {
    // pprof values are integers: a mean rounds, and a stack averaging under half a goroutine drops out.
    for (const s of p.sample) s.value = s.value.map((v) => Math.round(toNumber(v) / a.snapshots));
    p.sample = p.sample.filter((s) => s.value.some((v) => v !== 0));
  }
  // Nanoseconds since 1970 exceed 2^53: bigint keeps them exact.
  p.timeNanos = BigInt(Math.round(a.startMs)) * 1_000_000n;
  p.durationNanos = BigInt(Math.round(a.endMs - a.startMs)) * 1_000_000n;
  return { bytes: gzipSync(p.encode()), samples: p.sample.length, sampleTypes: p.sampleType.map((t) => str(t.type)) };
}
