/**
 * pprof decoding: bytes (gzipped or not) → a normalised profile. pprof-format yields `number | bigint`
 * for every numeric field; we convert once here so nothing downstream sees a bigint.
 * Spec: github.com/google/pprof/proto/profile.proto.
 */
import { gunzipSync } from 'node:zlib';
import { Profile as RawProfile } from 'pprof-format';
import { inputError } from '../../errors.js';
import { toNumber } from '../../util/num.js';

export interface ValueType {
  type: string;
  unit: string;
}

export interface Sample {
  /** Frame ids, leaf first (locationId[0] is the leaf; inlined frames expanded innermost first). */
  stack: number[];
  /** One value per sample type. */
  values: number[];
  /** String labels (pprof labels), when present. */
  labels?: Record<string, string>;
}

export interface Profile {
  sampleTypes: ValueType[];
  /** Name of the default sample type (pprof: the last one when unset). */
  defaultSampleType: string;
  periodType?: ValueType;
  period: number;
  timeNanos: number;
  durationNanos: number;
  /** Frame names by frame id (function name, or the address when unsymbolised). */
  frames: string[];
  samples: Sample[];
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decode a pprof profile. `source` names the file or URL in error messages. */
export function parsePprof(bytes: Uint8Array, source: string): Profile {
  const hint = 'capture it again (e.g. curl -o cpu.pb.gz http://HOST/debug/pprof/profile?seconds=10); pprof files are gzipped protobuf';
  if (bytes.length === 0) throw inputError(`${source}: empty file, not a pprof profile`, hint);
  let data: Uint8Array = bytes;
  if (isGzip(bytes)) {
    try {
      data = gunzipSync(bytes);
    } catch (err) {
      throw inputError(`${source}: gzip data is corrupt or truncated (${(err as Error).message})`, hint);
    }
    if (data.length === 0) throw inputError(`${source}: gzip holds no data, not a pprof profile`, hint);
  }
  let raw: RawProfile;
  try {
    // A plain Uint8Array view (no copy): pprof-format slices it once per field and varint, and
    // Buffer#subarray is several times dearer than the typed-array builtin (bench/profile.ts).
    raw = RawProfile.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } catch (err) {
    throw inputError(`${source}: not a pprof profile (protobuf decode failed: ${(err as Error).message})`, hint);
  }
  const strings = raw.stringTable.strings;
  // profile.proto: string_table[0] must be "", and every profile names at least one sample type.
  if (strings.length === 0 || strings[0] !== '' || raw.sampleType.length === 0) {
    throw inputError(`${source}: not a pprof profile (no sample types / invalid string table)`, hint);
  }
  const str = (i: number | bigint) => {
    const s = strings[toNumber(i)];
    if (s === undefined) throw inputError(`${source}: corrupt pprof profile (string index ${String(i)} out of range)`, hint);
    return s;
  };
  const sampleTypes = raw.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) }));
  const defaultIdx = toNumber(raw.defaultSampleType);
  const defaultSampleType = defaultIdx ? str(defaultIdx) : sampleTypes[sampleTypes.length - 1].type;

  // Intern frames by name: flame graphs and rules reason about functions, not addresses.
  const frames: string[] = [];
  const frameIdByName = new Map<string, number>();
  const intern = (name: string) => {
    let id = frameIdByName.get(name);
    if (id === undefined) {
      id = frames.length;
      frames.push(name);
      frameIdByName.set(name, id);
    }
    return id;
  };
  const fnName = new Map<number, number>();
  for (const f of raw.function) fnName.set(toNumber(f.id), intern(str(f.name) || str(f.systemName) || '?'));

  const locFrames = new Map<number, number[]>();
  for (const loc of raw.location) {
    const ids: number[] = [];
    for (const line of loc.line) {
      const id = fnName.get(toNumber(line.functionId));
      if (id !== undefined) ids.push(id);
    }
    if (ids.length === 0) ids.push(intern('0x' + toNumber(loc.address).toString(16)));
    locFrames.set(toNumber(loc.id), ids);
  }
  // Samples look locations up once per frame (tens of millions of times in a big profile). Go
  // numbers locations 1..N, so an array indexed by id does; other ids fall back to the map.
  const locDense = denseById(locFrames);
  const frameIdsOf = (lid: number | bigint) => {
    const ids = typeof lid === 'number' && lid < locDense.length ? locDense[lid] : locFrames.get(toNumber(lid));
    if (ids === undefined) throw inputError(`${source}: corrupt pprof profile (sample refers to unknown location ${String(lid)})`, hint);
    return ids;
  };

  const nTypes = sampleTypes.length;
  const samples: Sample[] = new Array(raw.sample.length);
  for (let i = 0; i < raw.sample.length; i++) {
    const s = raw.sample[i];
    const lids = s.locationId;
    const stack: number[] = [];
    for (let k = 0; k < lids.length; k++) {
      const ids = frameIdsOf(lids[k]);
      if (ids.length === 1) stack.push(ids[0]);
      else for (const id of ids) stack.push(id);
    }
    if (s.value.length !== nTypes) {
      throw inputError(`${source}: corrupt pprof profile (sample has ${s.value.length} values for ${nTypes} sample types)`, hint);
    }
    const values = new Array<number>(nTypes);
    for (let j = 0; j < nTypes; j++) values[j] = toNumber(s.value[j]);
    const sample: Sample = { stack, values };
    if (s.label.length > 0) {
      const labels: Record<string, string> = {};
      for (const l of s.label) if (toNumber(l.str)) labels[str(l.key)] = str(l.str);
      if (Object.keys(labels).length) sample.labels = labels;
    }
    samples[i] = sample;
  }

  return {
    sampleTypes,
    defaultSampleType,
    periodType: raw.periodType ? { type: str(raw.periodType.type), unit: str(raw.periodType.unit) } : undefined,
    period: toNumber(raw.period),
    timeNanos: toNumber(raw.timeNanos),
    durationNanos: toNumber(raw.durationNanos),
    frames,
    samples,
  };
}

/** The map's values in an array indexed by key when keys are small non-negative integers (else empty). */
function denseById<T>(byId: Map<number, T>): Array<T | undefined> {
  let max = -1;
  for (const id of byId.keys()) {
    if (!Number.isInteger(id) || id < 0) return [];
    if (id > max) max = id;
  }
  if (max > 4 * byId.size + 1024) return [];
  const dense = new Array<T | undefined>(max + 1).fill(undefined);
  for (const [id, v] of byId) dense[id] = v;
  return dense;
}

/** Index of a sample type by name; falls back to the default sample type. */
export function sampleTypeIndex(p: Profile, wanted?: string): number {
  const name = wanted ?? p.defaultSampleType;
  const i = p.sampleTypes.findIndex((t) => t.type === name);
  if (i >= 0) return i;
  if (wanted !== undefined) {
    throw inputError(
      `sample type "${wanted}" is not in this profile`,
      `choose one of: ${p.sampleTypes.map((t) => t.type).join(', ')}`,
    );
  }
  return p.sampleTypes.length - 1;
}

/** Sum of one sample type over all samples. */
export function totalOf(p: Profile, typeIndex: number): number {
  let t = 0;
  for (const s of p.samples) t += s.values[typeIndex];
  return t;
}
