import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { normaliseMerged } from '../../../src/sources/profilestore/merged.js';
import { chooseType, parseTypeId } from '../../../src/sources/profilestore/types.js';
import { parsePprof, sampleTypeIndex, totalOf } from '../../../src/sources/pprof/parse.js';
import { gz } from './fixture.js';

const types = (ids: string[]) => ids.map((id) => parseTypeId(id)!);
const PARCA_DEFAULT = types([
  'process_cpu:samples:count:cpu:nanoseconds:delta',
  'process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta',
  'memory:alloc_space:bytes:space:bytes',
  'memory:inuse_space:bytes:space:bytes',
  'goroutine:goroutine:count:goroutine:count',
  'mutex:delay:nanoseconds:contentions:count',
  'block:delay:nanoseconds:contentions:count',
]);

describe('chooseType', () => {
  it('maps Parca\'s default scrape types, naming the cumulative ones', () => {
    const pick = (k: Parameters<typeof chooseType>[0]) => {
      const c = chooseType(k, PARCA_DEFAULT, 'parca');
      return c && `${c.type.id} ${c.temporality}`;
    };
    assert.equal(pick('cpu'), 'process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta delta');
    assert.equal(pick('goroutine'), 'goroutine:goroutine:count:goroutine:count gauge');
    assert.equal(pick('heap'), 'memory:inuse_space:bytes:space:bytes gauge');
    assert.equal(pick('allocs'), 'memory:alloc_space:bytes:space:bytes cumulative');
    assert.equal(pick('mutex'), 'mutex:delay:nanoseconds:contentions:count cumulative');
  });
  it('Pyroscope stores deltas; parca-agent\'s sample counts stand in for CPU when nothing better exists', () => {
    const c = chooseType('block', types(['block:delay:nanoseconds:contentions:count']), 'pyroscope');
    assert.equal(c?.temporality, 'delta');
    const agent = chooseType('cpu', types(['parca_agent:samples:count:cpu:nanoseconds:delta']), 'parca');
    assert.deepEqual([agent?.type.name, agent?.cpuFromSamples], ['parca_agent', true]);
    assert.equal(chooseType('mutex', types(['process_cpu:cpu:nanoseconds:cpu:nanoseconds']), 'pyroscope'), undefined);
  });
  it('parseTypeId rejects malformed IDs', () => {
    assert.equal(parseTypeId('cpu'), undefined);
    assert.equal(parseTypeId('a:b:c:d:'), undefined);
  });
});

describe('normaliseMerged', () => {
  const window = { startMs: Date.parse('2026-11-20T10:00:00Z'), endMs: Date.parse('2026-11-20T10:05:00Z'), source: 'test' };
  it('sets time and duration to the window and divides gauges by their snapshots', () => {
    const out = normaliseMerged(gz('spike', 'goroutine-0'), { ...window, snapshots: 2 });
    const p = parsePprof(out.bytes, 'out');
    assert.equal(p.durationNanos, 300e9);
    const before = parsePprof(gz('spike', 'goroutine-0'), 'in');
    const t = (x: typeof p) => totalOf(x, sampleTypeIndex(x, 'goroutine'));
    assert.ok(Math.abs(t(p) - t(before) / 2) <= before.samples.length / 2);
  });
  it('turns CPU sample counts into nanoseconds by the period', () => {
    // Keep only the samples/count type of a real CPU profile, as parca-agent stores it.
    const raw = Profile.decode(gunzipSync(gz('spike', 'cpu')));
    raw.sampleType = raw.sampleType.slice(0, 1);
    for (const s of raw.sample) s.value = s.value.slice(0, 1);
    const counts = totalOf(parsePprof(raw.encode(), 'x'), 0);
    const p = parsePprof(normaliseMerged(raw.encode(), { ...window, snapshots: 1, cpuFromSamples: true }).bytes, 'out');
    assert.deepEqual(p.sampleTypes, [{ type: 'cpu', unit: 'nanoseconds' }]);
    assert.equal(totalOf(p, 0), counts * 10_000_000);
  });
  it('an empty answer has no samples', () => {
    assert.equal(normaliseMerged(new Uint8Array(), { ...window, snapshots: 1 }).samples, 0);
  });
});
