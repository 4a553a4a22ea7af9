import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { combine, parsePromResponse } from '../../../src/sources/prometheus/parse.js';
import { findSpikes } from '../../../src/sources/prometheus/spike.js';
import { bundle } from '../../helpers.js';

/** The real P99 series of a recorded bundle and its windows (unix seconds). */
async function series(name: string) {
  const pts = combine(parsePromResponse(await readFile(path.join(bundle(name), 'prometheus', 'latency_p99.json'), 'utf8'), name));
  const m = JSON.parse(await readFile(path.join(bundle(name), 'manifest.json'), 'utf8'));
  const t = (s: string) => Date.parse(s) / 1000;
  return { pts, spike: { start: t(m.windows.spike.start), end: t(m.windows.spike.end) }, baseline: { start: t(m.windows.baseline.start), end: t(m.windows.baseline.end) } };
}

for (const name of ['gc-pressure', 'lock-contention', 'channel-blocking', 'go-scheduler-latency', 'downstream-latency']) {
  test(`${name}: the spike found in the real P99 series is the fault window, ongoing, with a calm baseline before it`, async () => {
    const s = await series(name);
    const a = findSpikes(s.pts)!;
    assert.ok(a.chosen, 'a spike is found');
    // The fault was switched on 10 s before the spike window and stayed on to the end.
    assert.ok(a.chosen.start >= s.spike.start - 20 && a.chosen.start <= s.spike.start + 5, `starts near the fault: ${a.chosen.start - s.spike.start}`);
    assert.equal(a.ongoing, true);
    assert.ok(a.chosen.peak >= 2 * a.baselineP99);
    assert.ok(a.baseline && a.baseline.end < a.chosen.start && a.baseline.end > a.baseline.start);
  });
}

test('healthy: nothing ongoing, no spike as large as a fault', async () => {
  const s = await series('healthy');
  const a = findSpikes(s.pts)!;
  assert.equal(a.ongoing, false);
  for (const sp of a.spikes) assert.ok(sp.peak < 5 * a.baselineP99, `noise blip ${sp.peak} vs ${a.baselineP99}`);
});

test('synthetic edge cases: too few points, flat series, spike at the very end, merge gap', () => {
  assert.equal(findSpikes([[1, 1], [2, 1]]), undefined);
  const flat = findSpikes(Array.from({ length: 50 }, (_, i) => [i, 0.01] as [number, number]))!;
  assert.equal(flat.spikes.length, 0);
  const pts: Array<[number, number]> = Array.from({ length: 60 }, (_, i) => [i, i >= 50 || (i >= 20 && i < 23) ? 0.1 : 0.01]);
  const a = findSpikes(pts)!;
  assert.equal(a.spikes.length, 2);
  assert.deepEqual([a.chosen!.start, a.chosen!.end], [50, 59]);
  assert.equal(a.ongoing, true);
  assert.deepEqual(a.baseline, { start: 23, end: 48 }, "the baseline holds no earlier spike");
});
