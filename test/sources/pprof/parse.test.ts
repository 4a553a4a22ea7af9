import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { parsePprof, sampleTypeIndex, totalOf } from '../../../src/sources/pprof/parse.js';
import { diff, fold, top } from '../../../src/sources/pprof/fold.js';
import { toFolded } from '../../../src/render/flamegraph/index.js';
import { SleuthError } from '../../../src/errors.js';
import { bundle } from '../../helpers.js';
import { matchGolden } from '../../golden.js';

const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');
const file = (scenario: string, window: string, name: string) => path.join(bundle(scenario), 'pprof', window, name);

// Real profiles from the lab service (fixtures/README.md): one of each kind.
const CASES: Array<[string, string, string, string]> = [
  ['cpu', 'cpu-bound', 'cpu.pb.gz', 'cpu'],
  ['goroutine', 'downstream-latency', 'goroutine-0.pb.gz', 'goroutine'],
  ['mutex', 'lock-contention', 'mutex.pb.gz', 'delay'],
  ['block', 'channel-blocking', 'block.pb.gz', 'delay'],
  ['allocs', 'gc-pressure', 'allocs.pb.gz', 'alloc_space'],
  ['heap', 'gc-pressure', 'heap.pb.gz', 'inuse_space'],
];

for (const [kind, scenario, name, st] of CASES) {
  test(`pprof ${kind}: decodes a real profile and folds to its golden stacks`, async () => {
    const p = parsePprof(await readFile(file(scenario, 'spike', name)), name);
    assert.ok(p.samples.length > 0);
    assert.ok(p.sampleTypes.some((t) => t.type === st), `has sample type ${st}`);
    for (const s of p.samples) for (const v of s.values) assert.equal(typeof v, 'number'); // no bigint leaks
    const f = fold(p, st);
    assert.equal(f.total, totalOf(p, sampleTypeIndex(p, st)));
    assert.equal(f.stacks.reduce((t, s) => t + s.value, 0), f.total);
    await matchGolden(path.join(GOLDEN, `${kind}.folded`), toFolded(f.stacks));
  });
}

test('CPU profile: sample types, period and duration as Go writes them', async () => {
  const p = parsePprof(await readFile(file('cpu-bound', 'spike', 'cpu.pb.gz')), 'cpu');
  assert.deepEqual(p.sampleTypes, [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }]);
  assert.equal(p.periodType?.type, 'cpu');
  assert.ok(p.period > 0);
  assert.ok(p.durationNanos >= 9e9 && p.durationNanos <= 12e9, `about 10 s: ${p.durationNanos}`);
  // pprof stacks are leaf first; folded stacks are root first: the hottest stack of this
  // request-path hot loop starts at the connection goroutine and ends in the hash function.
  const f = fold(p, 'cpu');
  assert.equal(f.stacks[0].frames[0], 'net/http.(*conn).serve');
  assert.match(f.stacks[0].frames[f.stacks[0].frames.length - 1], /^crypto\//);
  assert.ok(f.stacks[0].frames.includes('main.computeRiskScore'));
});

test('uncompressed protobuf decodes the same as gzipped', async () => {
  const gz = await readFile(file('cpu-bound', 'spike', 'cpu.pb.gz'));
  const a = fold(parsePprof(gz, 'gz'));
  const b = fold(parsePprof(gunzipSync(gz), 'raw'));
  assert.deepEqual(a, b);
});

test('flat and cumulative tops: the hot request-path function leads cum among app frames', async () => {
  const f = fold(parsePprof(await readFile(file('cpu-bound', 'spike', 'cpu.pb.gz')), 'cpu'), 'cpu');
  const t = top(f, 50, 'cum');
  assert.ok(t.every((e) => e.flat <= e.cum));
  assert.ok(t.some((e) => e.name.startsWith('main.')), 'application frames appear');
  const byFlat = top(f, 5, 'flat');
  for (let i = 1; i < byFlat.length; i++) assert.ok(byFlat[i - 1].flat >= byFlat[i].flat);
});

test('diff scales the baseline to the spike duration', () => {
  const spike = { sampleType: { type: 'cpu', unit: 'nanoseconds' }, total: 30, stacks: [{ frames: ['a', 'b'], value: 20 }, { frames: ['a', 'c'], value: 10 }] };
  const base = { sampleType: spike.sampleType, total: 10, stacks: [{ frames: ['a', 'b'], value: 10 }, { frames: ['a', 'd'], value: 4 }] };
  const d = diff(spike, 10, base, 20); // baseline covered twice the time: halve it
  const get = (k: string) => d.find((s) => s.frames.join(';') === k)!;
  assert.deepEqual([get('a;b').value, get('a;b').baseValue], [20, 5]);
  assert.deepEqual([get('a;c').value, get('a;c').baseValue], [10, 0]);
  assert.deepEqual([get('a;d').value, get('a;d').baseValue], [0, 2]);
});

const inputErr = (re: RegExp) => (e: unknown) => e instanceof SleuthError && e.kind === 'input' && re.test(e.message);

test('bad input: empty, truncated gzip, gzip of non-pprof, random bytes → input errors naming the source', async () => {
  const gz = await readFile(file('cpu-bound', 'spike', 'cpu.pb.gz'));
  assert.throws(() => parsePprof(new Uint8Array(), 'x.pb.gz'), inputErr(/^x\.pb\.gz: empty file/));
  assert.throws(() => parsePprof(gz.subarray(0, gz.length >> 1), 'x.pb.gz'), inputErr(/^x\.pb\.gz: gzip data is corrupt or truncated/));
  assert.throws(() => parsePprof(gzipSync(Buffer.from('{"not":"pprof"}')), 'x.pb.gz'), inputErr(/^x\.pb\.gz: not a pprof profile/));
  assert.throws(() => parsePprof(gzipSync(Buffer.alloc(0)), 'x.pb.gz'), inputErr(/gzip holds no data/));
  // Protobuf cut in half inside a valid gzip. (A cut that happens to fall on a field boundary decodes
  // as a smaller profile: protobuf has no end marker, only gzip's length and CRC catch that.)
  const raw = gunzipSync(gz);
  assert.throws(() => parsePprof(gzipSync(raw.subarray(0, raw.length >> 1)), 'x.pb.gz'), inputErr(/^x\.pb\.gz: (not a pprof profile|corrupt pprof profile)/));
});

test('a profile with no samples decodes as empty (mutex profiling off looks like this)', async () => {
  const p = parsePprof(await readFile(path.join(bundle('..'), 'pprof', 'mutex-disabled.pb.gz')), 'mutex');
  assert.deepEqual(p.sampleTypes.map((t) => t.type), ['contentions', 'delay']);
  assert.equal(p.samples.length, 0);
  assert.equal(fold(p, 'delay').total, 0);
});
