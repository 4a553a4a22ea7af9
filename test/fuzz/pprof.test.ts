/**
 * Property tests of the pprof path (decode → fold → top) on inputs derived from real captures:
 * mutated protobuf, mutated gzip, and generated profiles, well-formed and not. Whatever the bytes,
 * parsePprof returns a normalised profile or throws an input SleuthError, and never hangs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Function as PFunction, Label, Line, Location, Profile as RawProfile, Sample as RawSample, StringTable, ValueType } from 'pprof-format';
import { parsePprof, type Profile } from '../../src/sources/pprof/parse.js';
import { fold, top } from '../../src/sources/pprof/fold.js';
import { BUNDLES, ROOT } from '../helpers.js';
import { close, mutatedBytes, params, typedOnly } from './fuzz.js';

// One real profile of each kind (fixtures/README.md says how they were recorded), plus the
// sample-less mutex profile of a service that never enabled mutex profiling.
const SEED_FILES = [
  'lock-contention/pprof/spike/cpu.pb.gz',
  'lock-contention/pprof/spike/mutex.pb.gz',
  'channel-blocking/pprof/spike/block.pb.gz',
  'goroutine-leak/pprof/spike/goroutine-0.pb.gz',
  'gc-pressure/pprof/spike/heap.pb.gz',
  'gc-pressure/pprof/spike/allocs.pb.gz',
].map((f) => path.join(BUNDLES, f));
const GZ_SEEDS = [...SEED_FILES, path.join(ROOT, 'fixtures', 'pprof', 'mutex-disabled.pb.gz')].map((f) => new Uint8Array(readFileSync(f)));
const RAW_SEEDS = GZ_SEEDS.map((b) => new Uint8Array(gunzipSync(b)));

/** What every successfully decoded profile must satisfy, whatever its bytes were. */
function checkInvariants(p: Profile): void {
  assert.ok(p.sampleTypes.length > 0);
  assert.ok(p.sampleTypes.some((t) => t.type === p.defaultSampleType) || p.defaultSampleType !== undefined);
  for (const n of [p.period, p.timeNanos, p.durationNanos]) assert.equal(typeof n, 'number');
  for (const s of p.samples) {
    assert.equal(s.values.length, p.sampleTypes.length);
    for (const v of s.values) assert.equal(typeof v, 'number'); // no bigint past the boundary
    for (const id of s.stack) assert.ok(Number.isInteger(id) && id >= 0 && id < p.frames.length, `frame id ${id} of ${p.frames.length}`);
  }
  for (const { type } of p.sampleTypes) {
    // Folding by name picks the first sample type of that name (mutations may duplicate names).
    const ti = p.sampleTypes.findIndex((t) => t.type === type);
    const f = fold(p, type);
    let sum = 0;
    for (const s of p.samples) sum += s.values[ti];
    // Folding merges identical stacks: the total is the samples' sum, and the stacks add up to it.
    assert.ok(close(f.total, sum), `fold total ${f.total} vs sample sum ${sum}`);
    const stackSum = f.stacks.reduce((t, s) => t + s.value, 0);
    assert.ok(close(stackSum, f.total), `stacks sum ${stackSum} vs total ${f.total}`);
    for (let i = 1; i < f.stacks.length; i++) assert.ok(f.stacks[i - 1].value >= f.stacks[i].value || Number.isNaN(f.stacks[i].value));
    const flat = top(f, Infinity).reduce((t, e) => t + e.flat, 0);
    const nonEmpty = f.stacks.filter((s) => s.frames.length > 0).reduce((t, s) => t + s.value, 0);
    assert.ok(close(flat, nonEmpty), `flat sum ${flat} vs ${nonEmpty}`);
  }
}

test('mutated real protobuf: a profile that keeps its invariants, or an input error', () => {
  fc.assert(
    fc.property(mutatedBytes(RAW_SEEDS), (bytes) => {
      const p = typedOnly(bytes, () => parsePprof(bytes, 'fuzz.pb'));
      if (p) checkInvariants(p);
    }),
    params(400),
  );
});

test('mutated gzip, and gzip of mutated protobuf: never anything but an input error', () => {
  fc.assert(
    fc.property(fc.oneof(mutatedBytes(GZ_SEEDS), mutatedBytes(RAW_SEEDS).map((b) => new Uint8Array(gzipSync(b, { level: 1 })))), (bytes) => {
      const p = typedOnly(bytes, () => parsePprof(bytes, 'fuzz.pb.gz'));
      if (p) checkInvariants(p);
    }),
    params(200),
  );
});

test('arbitrary bytes: an input error or a valid profile', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const p = typedOnly(bytes, () => parsePprof(bytes, 'fuzz.bin'));
      if (p) checkInvariants(p);
    }),
    params(300),
  );
});

// ---- generated profiles ----

interface GenProfile {
  types: string[];
  /** Function names by function id (1-based). */
  functions: string[];
  /** Per location id (1-based): function indices of its lines (innermost first); [] = unsymbolised. */
  locations: number[][];
  samples: Array<{ locs: number[]; values: number[]; label?: [string, string] }>;
}

const name = fc.stringMatching(/^[a-zA-Z_][\w./()*]{0,20}$/);

/** Well-formed profiles: every reference resolves, values are safe non-negative integers. */
const wellFormed: fc.Arbitrary<GenProfile> = fc
  .record({
    types: fc.uniqueArray(fc.constantFrom('samples', 'cpu', 'contentions', 'delay', 'alloc_space', 'inuse_space', 'goroutine'), { minLength: 1, maxLength: 3 }),
    functions: fc.uniqueArray(name, { minLength: 1, maxLength: 12 }),
    nLocations: fc.integer({ min: 1, max: 16 }),
  })
  .chain(({ types, functions, nLocations }) =>
    fc.record({
      types: fc.constant(types),
      functions: fc.constant(functions),
      locations: fc.array(fc.array(fc.nat({ max: functions.length - 1 }), { maxLength: 3 }), { minLength: nLocations, maxLength: nLocations }),
      samples: fc.array(
        fc.record({
          locs: fc.array(fc.integer({ min: 1, max: nLocations }), { maxLength: 10 }),
          values: fc.array(fc.nat({ max: 1e9 }), { minLength: types.length, maxLength: types.length }),
          label: fc.option(fc.tuple(name, name), { nil: undefined }),
        }),
        { maxLength: 40 },
      ),
    }),
  );

function encode(g: GenProfile): Uint8Array {
  const strings = new StringTable();
  const S = (s: string) => strings.dedup(s);
  return new RawProfile({
    sampleType: g.types.map((t) => new ValueType({ type: S(t), unit: S('count') })),
    function: g.functions.map((n, i) => new PFunction({ id: i + 1, name: S(n), systemName: S(n), filename: S('x.go') })),
    location: g.locations.map((fns, i) => new Location({ id: i + 1, address: 0x1000 + i, line: fns.map((f) => new Line({ functionId: f + 1, line: 1 })) })),
    sample: g.samples.map((s) => new RawSample({ locationId: s.locs, value: s.values, label: s.label ? [new Label({ key: S(s.label[0]), str: S(s.label[1]) })] : [] })),
    stringTable: strings,
    durationNanos: 1e9,
  }).encode();
}

/** The folded stacks pprof semantics give: location 0 is the leaf, a location's line 0 its innermost frame. */
function expectedFolded(g: GenProfile, ti: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of g.samples) {
    const v = s.values[ti];
    if (v === 0) continue;
    const leafFirst = s.locs.flatMap((l) => (g.locations[l - 1].length ? g.locations[l - 1].map((f) => g.functions[f]) : ['0x' + (0x1000 + l - 1).toString(16)]));
    const key = leafFirst.reverse().join(';');
    out.set(key, (out.get(key) ?? 0) + v);
  }
  return out;
}

test('generated well-formed profiles decode and fold exactly as pprof defines them', () => {
  fc.assert(
    fc.property(wellFormed, fc.boolean(), (g, gz) => {
      const raw = encode(g);
      const bytes = gz ? new Uint8Array(gzipSync(raw)) : raw;
      const p = parsePprof(bytes, 'generated');
      checkInvariants(p);
      assert.equal(p.samples.length, g.samples.length);
      for (let ti = 0; ti < g.types.length; ti++) {
        const f = fold(p, g.types[ti]);
        const got = new Map(f.stacks.map((s) => [s.frames.join(';'), s.value]));
        assert.deepEqual(got, expectedFolded(g, ti));
      }
      g.samples.forEach((s, i) => {
        if (s.label && s.label[1] !== '') assert.equal(p.samples[i].labels?.[s.label[0]], s.label[1]);
      });
    }),
    params(300),
  );
});

/** Broken references: ids out of range, missing functions, value counts that do not match. */
const broken = fc.record({
  nStrings: fc.integer({ min: 0, max: 6 }),
  stringZero: fc.constantFrom('', 'x'),
  types: fc.array(fc.record({ type: fc.integer({ min: -2, max: 10 }), unit: fc.integer({ min: -2, max: 10 }) }), { maxLength: 3 }),
  defaultSampleType: fc.integer({ min: -1, max: 10 }),
  functions: fc.array(fc.record({ id: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(2 ** 40)), name: fc.integer({ min: 0, max: 10 }) }), { maxLength: 6 }),
  locations: fc.array(fc.record({ id: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(-1), fc.constant(2 ** 33)), fns: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }) }), { maxLength: 6 }),
  samples: fc.array(
    fc.record({
      locs: fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(-1), fc.constant(2 ** 53)), { maxLength: 5 }),
      values: fc.array(fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })), { maxLength: 4 }),
      label: fc.option(fc.record({ key: fc.integer({ min: 0, max: 10 }), str: fc.integer({ min: 0, max: 10 }) }), { nil: undefined }),
    }),
    { maxLength: 8 },
  ),
  periodType: fc.option(fc.record({ type: fc.integer({ min: 0, max: 10 }), unit: fc.integer({ min: 0, max: 10 }) }), { nil: undefined }),
});

test('generated profiles with broken references: a consistent profile or an input error', () => {
  fc.assert(
    fc.property(broken, (b) => {
      const strings = new StringTable();
      // Build the string table by hand: the first entry may be illegal (profile.proto wants "").
      (strings as unknown as { strings: string[] }).strings = [b.stringZero, ...Array.from({ length: b.nStrings }, (_, i) => `s${i}`)].slice(0, b.nStrings === 0 && b.stringZero === '' ? 0 : undefined);
      const raw = new RawProfile({
        sampleType: b.types.map((t) => new ValueType(t)),
        defaultSampleType: b.defaultSampleType,
        function: b.functions.map((f) => new PFunction({ id: f.id, name: f.name })),
        location: b.locations.map((l) => new Location({ id: l.id, line: l.fns.map((functionId) => new Line({ functionId })) })),
        sample: b.samples.map((s) => new RawSample({ locationId: s.locs, value: s.values, label: s.label ? [new Label(s.label)] : [] })),
        periodType: b.periodType ? new ValueType(b.periodType) : undefined,
        stringTable: strings,
      });
      let bytes: Uint8Array;
      try {
        bytes = raw.encode();
      } catch {
        return; // pprof-format cannot encode some of these (negative ids); nothing to decode then
      }
      const p = typedOnly(bytes, () => parsePprof(bytes, 'generated'));
      if (p) checkInvariants(p);
    }),
    params(400),
  );
});
