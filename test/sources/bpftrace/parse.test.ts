import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { devName, histQuantile, histTotal, mapEntries, parseBpftrace, softirqName, stacksToFolded, sumValues, type BpfKey, type BpfMap, type BpfOutput } from '../../../src/sources/bpftrace/parse.js';
import { toFolded } from '../../../src/render/flamegraph/index.js';
import { ROOT } from '../../helpers.js';
import { matchGolden } from '../../golden.js';

const FIX = path.join(ROOT, 'fixtures', 'bpftrace');
const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');
const raw = (file: string) => readFileSync(path.join(FIX, file), 'utf8');
const load = (file: string) => parseBpftrace(raw(file), file);
const SCRIPTS = ['runqlat', 'offcpu', 'syscalls', 'biolatency', 'tcpretrans', 'softirq', 'hardirq', 'reclaim', 'gc', 'oncpu'];

/** The shape of a model without its numbers: map names, kinds and the type of each key part. */
function shape(o: BpfOutput): Record<string, string> {
  const partType = (p: BpfKey[number]) => (Array.isArray(p) ? 'stack' : typeof p);
  const out: Record<string, string> = {};
  for (const [name, m] of Object.entries(o.maps)) {
    const keys = m.kind === 'scalar' ? [] : [...new Set(m.entries.map((e) => e.key.map(partType).join(',')))];
    out[name] = `${m.kind}[${keys.sort().join(' | ')}]`;
  }
  return out;
}

for (const name of SCRIPTS) {
  test(`${name}: text and JSON fixtures parse to the same maps, kinds and key shapes`, () => {
    const t = load(`${name}.txt`);
    const j = load(`${name}.json`);
    assert.ok(Object.keys(t.maps).length > 0, 'the fixture has maps');
    assert.deepEqual(shape(t), shape(j));
    assert.equal(t.attachedProbes, j.attachedProbes);
    assert.deepEqual(t.printed, []);
    assert.deepEqual(j.printed, []);
  });
}

const stats = (m: BpfMap | undefined, key: BpfKey = []) => mapEntries(m, 'stats').find((e) => JSON.stringify(e.key) === JSON.stringify(key));
const hist = (m: BpfMap | undefined, key: BpfKey = []) => mapEntries(m, 'hist').find((e) => JSON.stringify(e.key) === JSON.stringify(key))?.buckets ?? [];
const value = (m: BpfMap | undefined, key: BpfKey) => mapEntries(m, 'values').find((e) => JSON.stringify(e.key) === JSON.stringify(key))?.value;

test('runqlat: buckets from text labels and JSON min/max agree in [lo, hi) form; hist total = stats count', () => {
  const t = load('runqlat.txt');
  assert.equal(t.attachedProbes, 5);
  assert.deepEqual(stats(t.maps['@runq_stats']), { key: [], count: 4019, average: 781, total: 3141717 });
  const tb = hist(t.maps['@runq_us']);
  assert.deepEqual(tb[0], { lo: 1, hi: 2, count: 16 }); // `[1]`
  assert.deepEqual(tb[1], { lo: 2, hi: 4, count: 519 }); // `[2, 4)`
  assert.deepEqual(tb.at(-1), { lo: 8192, hi: 16384, count: 38 }); // `[8K, 16K)`
  assert.equal(tb.length, 14);
  assert.equal(histTotal(tb), 4019);
  const j = load('runqlat.json');
  const jb = hist(j.maps['@runq_us']);
  assert.deepEqual(jb[0], { lo: 2, hi: 4, count: 590 }); // {"min": 2, "max": 3}
  assert.deepEqual(jb.at(-1), { lo: 8192, hi: 16384, count: 41 });
  assert.equal(histTotal(jb), stats(j.maps['@runq_stats'])?.count);
  // The contention mode: a p99 in the milliseconds, a median of a few microseconds.
  assert.ok(histQuantile(tb, 0.5)! >= 4 && histQuantile(tb, 0.5)! < 8);
  const p99 = histQuantile(tb, 0.99)!;
  assert.ok(p99 >= 4096 && p99 < 16384, `p99 ${p99}`);
});

test('syscalls: one entry per syscall name in both formats, fsync in the milliseconds', () => {
  for (const f of ['syscalls.txt', 'syscalls.json']) {
    const o = load(f);
    const names = mapEntries(o.maps['@sync_us'], 'hist').map((e) => e.key[0]).sort();
    assert.deepEqual(names, ['fdatasync', 'fsync', 'pwrite64', 'sync_file_range', 'write'], f);
    for (const e of mapEntries(o.maps['@sync_stats'], 'stats')) assert.equal(histTotal(hist(o.maps['@sync_us'], e.key)), e.count, `${f} ${e.key}`);
  }
  const t = load('syscalls.txt');
  assert.deepEqual(stats(t.maps['@sync_stats'], ['fsync']), { key: ['fsync'], count: 129, average: 1611, total: 207933 });
  assert.deepEqual(hist(t.maps['@sync_us'], ['fsync']).at(-1), { lo: 16384, hi: 32768, count: 1 });
  assert.equal(stats(load('syscalls.json').maps['@sync_stats'], ['write'])?.count, 1800);
});

test('biolatency: dev_t keys are numbers; 266338304 is 254:0', () => {
  const t = load('biolatency.txt');
  assert.deepEqual(stats(t.maps['@bio_stats'], [266338304]), { key: [266338304], count: 3307, average: 101, total: 334302 });
  assert.deepEqual(hist(t.maps['@bio_us'], [266338304])[0], { lo: 16, hi: 32, count: 158 });
  assert.equal(stats(load('biolatency.json').maps['@bio_stats'], [266338304])?.count, 3394);
  assert.equal(devName(266338304), '254:0');
});

test('softirq: [vec, cpu] keys as integers, names by vector, [0] bucket', () => {
  const t = load('softirq.txt');
  assert.equal(value(t.maps['@softirq_us'], [3, 1]), 12675);
  assert.equal(value(t.maps['@softirq_count'], [3]), 2325);
  assert.deepEqual(hist(t.maps['@softirq_lat_us'], [3])[0], { lo: 0, hi: 1, count: 776 }); // `[0]`
  assert.equal(value(load('softirq.json').maps['@softirq_us'], [3, 1]), 12769);
  assert.deepEqual(hist(load('softirq.json').maps['@softirq_lat_us'], [3])[0], { lo: 0, hi: 1, count: 1056 }); // {"min": 0, "max": 0}
  assert.deepEqual([0, 1, 3, 4, 7, 9].map(softirqName), ['HI', 'TIMER', 'NET_RX', 'BLOCK', 'SCHED', 'RCU']);
  assert.equal(softirqName(12), 'vec12');
});

test('hardirq: [irq, name] keys keep the handler name', () => {
  const t = load('hardirq.txt');
  assert.equal(value(t.maps['@hardirq_us'], [36, 'virtio1-req.0']), 7057);
  assert.equal(value(t.maps['@hardirq_max_us'], [41, 'virtio3-rx']), 49);
  assert.equal(value(load('hardirq.json').maps['@hardirq_count'], [36, 'virtio1-req.0']), 1232);
});

test('reclaim: memcg maps only (no direct reclaim happened)', () => {
  const t = load('reclaim.txt');
  assert.deepEqual(Object.keys(t.maps).sort(), ['@memcg_reclaim_stats', '@memcg_reclaim_us']);
  assert.equal(stats(t.maps['@memcg_reclaim_stats'])?.count, 4356);
  assert.equal(histTotal(hist(t.maps['@memcg_reclaim_us'])), 4356);
});

test('gc: scalar counts and the stop-the-world histogram', () => {
  for (const f of ['gc.txt', 'gc.json']) {
    const o = load(f);
    assert.deepEqual(o.maps['@gc_starts'], { kind: 'scalar', value: 1186 }, f);
    assert.deepEqual(o.maps['@stw_count'], { kind: 'scalar', value: 2284 }, f);
  }
  assert.equal(histTotal(hist(load('gc.txt').maps['@stw_us'])), 2210);
  assert.equal(histTotal(hist(load('gc.json').maps['@stw_us'])), 2216);
  assert.equal(sumValues(load('gc.txt').maps['@gc_starts']), 1186);
});

test('tcpretrans: six-part keys with IPv4 and IPv6 addresses, data and synack kinds', () => {
  const key: BpfKey = ['synack', '::1', 16010, '::1', 34458, 3];
  for (const f of ['tcpretrans.txt', 'tcpretrans.json']) {
    const m = load(f).maps['@retrans'];
    assert.equal(value(m, key), 2, f);
    assert.ok(mapEntries(m, 'values').some((e) => e.key[0] === 'data' && e.key[1] === '127.0.0.1'), f);
  }
  const t = load('tcpretrans.txt').maps['@retrans'];
  assert.equal(mapEntries(t, 'values').length, 62);
  assert.equal(sumValues(t), 75);
  assert.equal(sumValues(t, (k) => k[0] === 'synack'), 14);
  assert.equal(sumValues(load('tcpretrans.json').maps['@retrans']), 76);
});

test('oncpu/offcpu: stack keys become frame arrays; repeated stacks are summed, none lost', () => {
  // Text: every `]: N` closes one entry. JSON: one object holding repeated keys (JSON.parse would drop them).
  const rawSum = (s: string, re: RegExp) => [...s.matchAll(re)].reduce((t, m) => t + Number(m[1]), 0);
  const t = load('oncpu.txt');
  const te = mapEntries(t.maps['@oncpu'], 'values');
  assert.equal(te.length, 84);
  assert.equal([...raw('oncpu.txt').matchAll(/^@oncpu\[/gm)].length, 127);
  assert.equal(sumValues(t.maps['@oncpu']), rawSum(raw('oncpu.txt'), /\]: (\d+)$/gm));
  assert.equal(sumValues(t.maps['@oncpu']), 347);
  const j = load('oncpu.json');
  assert.equal(mapEntries(j.maps['@oncpu'], 'values').length, 96);
  assert.equal(sumValues(j.maps['@oncpu']), rawSum(raw('oncpu.json'), /bpfload": (\d+)/g));
  assert.equal(sumValues(j.maps['@oncpu']), 348);

  const burn = te.find((e) => Array.isArray(e.key[1]) && e.key[1].includes('main.burn+122'))!;
  assert.deepEqual(burn.key[0], [], 'no kernel frames while in user space');
  assert.equal(burn.key[2], 'bpfload');
  assert.equal((burn.key[1] as string[]).at(-1), 'runtime.goexit.abi0+1', 'leaf first as printed: the root is last');

  const off = load('offcpu.txt').maps['@offcpu_us'];
  assert.equal(mapEntries(off, 'values').length, 15);
  assert.equal(sumValues(off), 13192220);
  assert.equal(sumValues(load('offcpu.json').maps['@offcpu_us']), 14840044);
  const fsync = mapEntries(off, 'values').find((e) => (e.key[0] as string[]).includes('__x64_sys_fsync+15'));
  assert.ok(fsync, 'an fsync sleep');
  assert.equal(fsync.key[3], 2, 'in D state');
});

for (const f of ['oncpu.txt', 'oncpu.json', 'offcpu.txt', 'offcpu.json']) {
  test(`stacksToFolded ${f}: matches its golden folded stacks`, async () => {
    const m = load(f).maps[f.startsWith('oncpu') ? '@oncpu' : '@offcpu_us'];
    const folded = stacksToFolded(m);
    assert.equal(folded.total, sumValues(m));
    await matchGolden(path.join(GOLDEN, `${f.replace('.', '-')}.folded`), toFolded(folded.stacks));
  });
}

test('stacksToFolded: comm root, user frames, "-", kernel frames with _[k], offsets stripped, merged', () => {
  const m = parseBpftrace(
    [
      '@s[',
      '    schedule+35',
      '    do_nanosleep+94',
      ', ',
      '    runtime.usleep.abi0+55',
      '    runtime.sysmon+178',
      ', app, 1]: 10',
      '@s[',
      '    schedule+40',
      '    do_nanosleep+0x1f',
      ', ',
      '    runtime.usleep.abi0+60',
      '    runtime.sysmon+178',
      ', app, 1]: 5',
      '@s[, ',
      '    main.burn+1',
      ', app, 2]: 7',
    ].join('\n'),
    'inline',
  ).maps['@s'];
  const f = stacksToFolded(m, { sampleType: { type: 'offcpu', unit: 'microseconds' } });
  assert.equal(f.total, 22);
  assert.deepEqual(f.sampleType, { type: 'offcpu', unit: 'microseconds' });
  assert.deepEqual(f.stacks, [
    { frames: ['app', 'runtime.sysmon', 'runtime.usleep.abi0', '-', 'do_nanosleep_[k]', 'schedule_[k]'], value: 15 },
    { frames: ['app', 'main.burn'], value: 7 },
  ]);
  const onlyD = stacksToFolded(m, { comm: false, filter: (k) => k[3] === 2 });
  assert.deepEqual(onlyD.stacks, [{ frames: ['main.burn'], value: 7 }]);
});

test('duplicate keys add up in text and JSON: values, histograms and stats', () => {
  const text = ['@v[a, 1]: 2', '@v[a, 1]: 3', '@h[x]: ', '[2, 4)  1 |@|', '', '@h[x]: ', '[2, 4)  2 |@|', '[4, 8)  5 |@|', '', '@st: count 2, average 5, total 10', '@st: count 2, average 1, total 2'].join('\n');
  const json = [
    '{"type": "map", "data": {"@v": {"a,1": 2, "a,1": 3}}}',
    '{"type": "hist", "data": {"@h": {"x": [{"min": 2, "max": 3, "count": 1}], "x": [{"min": 2, "max": 3, "count": 2}, {"min": 4, "max": 7, "count": 5}]}}}',
    '{"type": "stats", "data": {"@st": {"count": 2, "average": 5, "total": 10}}}',
    '{"type": "stats", "data": {"@st": {"count": 2, "average": 1, "total": 2}}}',
  ].join('\n');
  for (const [src, s] of [['text', text], ['json', json]]) {
    const o = parseBpftrace(s, src);
    assert.deepEqual(o.maps['@v'], { kind: 'values', entries: [{ key: ['a', 1], value: 5 }] }, src);
    assert.deepEqual(o.maps['@h'], { kind: 'hist', entries: [{ key: ['x'], buckets: [{ lo: 2, hi: 4, count: 3 }, { lo: 4, hi: 8, count: 5 }] }] }, src);
    assert.deepEqual(o.maps['@st'], { kind: 'stats', entries: [{ key: [], count: 4, average: 3, total: 12 }] }, src);
  }
});

test('open buckets, lhist labels, printf lines and lost events', () => {
  const text = ['Attaching 1 probe...', 'hello world', '@l: ', '(..., 0)  1 |@|', '[0, 5)  2 |@|', '[1K, 2K)  3 |@|', '[2M, ...)  4 |@|', '', 'Lost 3 events', '@z: 0'].join('\n');
  const o = parseBpftrace(text, 't');
  assert.equal(o.attachedProbes, 1);
  assert.deepEqual(o.printed, ['hello world']);
  assert.equal(o.lostEvents, 3);
  const b = hist(o.maps['@l']);
  assert.deepEqual(b.map((x) => [x.lo, x.hi, x.count]), [[Number.MIN_SAFE_INTEGER, 0, 1], [0, 5, 2], [1024, 2048, 3], [2 * 2 ** 20, Number.MAX_SAFE_INTEGER, 4]]);
  assert.deepEqual(JSON.parse(JSON.stringify(o)), o, 'the model survives JSON');
  assert.equal(histQuantile(b, 1), 2 * 2 ** 20, 'an open top bucket answers with its lower bound');
  assert.equal(histQuantile(b, 0), 0, 'an open bottom bucket answers with its upper bound');
  const j = parseBpftrace(['{"type": "printf", "data": "a\\nb\\n"}', '{"type": "lost_events", "data": {"events": 2}}', '{"type": "hist", "data": {"@l": [{"max": -1, "count": 1}, {"min": 2097152, "count": 4}]}}'].join('\n'), 'j');
  assert.deepEqual(j.printed, ['a', 'b']);
  assert.equal(j.lostEvents, 2);
  assert.deepEqual(hist(j.maps['@l']).map((x) => [x.lo, x.hi]), [[Number.MIN_SAFE_INTEGER, 0], [2097152, Number.MAX_SAFE_INTEGER]]);
});

test('histQuantile interpolates inside the bucket and is undefined when empty', () => {
  const b = [{ lo: 0, hi: 10, count: 50 }, { lo: 10, hi: 20, count: 50 }];
  assert.equal(histQuantile(b, 0.5), 10);
  assert.equal(histQuantile(b, 0.75), 15);
  assert.equal(histQuantile(b, 0.99), 19.8);
  assert.equal(histQuantile([], 0.5), undefined);
  assert.equal(histQuantile([{ lo: 1, hi: 2, count: 0 }], 0.5), undefined);
});

test('malformed input throws an input error naming the source and line', () => {
  const cases: Array<[string, RegExp]> = [
    ['Attaching 1 probe...\n@m[\n    foo+1\n', /^src:2: unterminated key of @m/],
    ['@h: \n[2, 4)  1 |@|\n[4, x)  1 |@|\n', /^src:3: malformed histogram row/],
    ['\n@m[a]: banana\n', /^src:2: unsupported value for @m/],
    ['@m: 1\n@m[a]: 2\n', /^src:2: @m mixes scalar and values entries/],
    ['{"type": "map", "data": {"@m": 1}}\n{"type": "map", "data": \n', /^src:2: not JSON/],
    ['{"type": "hist", "data": {"@h": {"k": 5}}}\n', /^src:1: histogram is not an array/],
    ['{"type": "map", "data": {"@m": {"k": "x"}}}\n', /^src:1: expected a number/],
    ['{"type": "map", "data": {"@m": {"\\n    a+1\\n    b+2": 1}}}\n', /^src:1: unterminated stack/],
    ['{"type": "attached_probes", "data": {"probes": 1}}\n{"data": {}}\n', /^src:2: expected \{"type"/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseBpftrace(input, 'src'), (e: unknown) => {
      assert.equal((e as { kind?: string }).kind, 'input', input);
      assert.match((e as Error).message, re);
      return true;
    });
  }
});

test('empty output has no maps', () => {
  assert.deepEqual(parseBpftrace('', 'e'), { maps: {}, printed: [] });
  assert.deepEqual(parseBpftrace('Attaching 2 probes...\n\n\n', 'e'), { maps: {}, printed: [], attachedProbes: 2 });
});
