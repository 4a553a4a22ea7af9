/**
 * Every user-space rule on real bundles recorded from the lab: its own cause ranks first on its
 * bundle, it stays silent on the others and on healthy, and a healthy bundle yields no cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, type Analysis } from '../../src/analysis/flow.js';
import { openBundle } from '../../src/evidence/bundle.js';
import { loadEvidence } from '../../src/evidence/load.js';
import { bundle, USER_SPACE_CAUSES } from '../helpers.js';

const cache = new Map<string, Promise<Analysis>>();
const analysed = (name: string) => {
  if (!cache.has(name)) cache.set(name, openBundle(bundle(name)).then(loadEvidence).then(analyse));
  return cache.get(name)!;
};
const describeRanked = (a: Analysis) => a.ranked.map((r) => `${r.id}=${r.score}`).join(', ') || 'nothing';

for (const cause of USER_SPACE_CAUSES) {
  test(`${cause}: ranks first on its own bundle, with reasons and evidence`, async () => {
    const a = await analysed(cause);
    assert.equal(a.verdict, 'cause-found', describeRanked(a));
    assert.equal(a.reported[0]?.id, cause, describeRanked(a));
    const top = a.reported[0];
    assert.ok(top.reasons.length > 0 && top.reasons.every((r) => r.length > 10));
    assert.ok(top.evidence.length > 0 && top.evidence.every((e) => e.artifact && !e.artifact.startsWith('/')));
  });

  test(`${cause}: stays silent on every other bundle`, async () => {
    for (const other of [...USER_SPACE_CAUSES, 'healthy'].filter((c) => c !== cause)) {
      const a = await analysed(other);
      assert.ok(!a.reported.some((r) => r.id === cause), `${cause} reported on ${other}: ${describeRanked(a)}`);
    }
  });
}

test('the runtime-metrics variant (client_golang WithGoCollectorRuntimeMetrics) is diagnosed the same', async () => {
  const a = await analysed('go-scheduler-latency-runtime-metrics');
  assert.equal(a.reported[0]?.id, 'go-scheduler-latency', describeRanked(a));
  // The extra series are read (not required): the rule names them when they are absent.
  const plain = await analysed('go-scheduler-latency');
  assert.ok(plain.reported[0].missing.some((m) => m.startsWith('go_sched_latencies_seconds')));
  assert.ok(!a.reported[0].missing.some((m) => m.startsWith('go_sched_latencies_seconds')));
});

test('healthy: no cause, and the verdict says so plainly', async () => {
  const a = await analysed('healthy');
  assert.equal(a.reported.length, 0, describeRanked(a));
  assert.equal(a.verdict, 'no-cause-found');
  assert.match(a.summary, /^No cause found/);
});

test('the walk covers every level; kernel and hardware are "not observed" without their evidence', async () => {
  const a = await analysed('lock-contention');
  const levels = new Set(a.walk.map((s) => s.level));
  for (const l of ['latency', 'user-space', 'kernel', 'hardware']) assert.ok(levels.has(l as never), l);
  const kernel = a.walk.filter((s) => s.level === 'kernel' && s.cause);
  assert.equal(kernel.length, 6);
  assert.ok(kernel.every((s) => s.verdict === 'not-observed'));
  assert.ok(a.walk.some((s) => s.verdict === 'descend' && s.level === 'kernel' && s.detail.length > 0));
  const lock = a.walk.find((s) => s.cause === 'lock-contention');
  assert.equal(lock?.verdict, 'found');
  assert.equal(a.walk.find((s) => s.cause === 'gc-pressure')?.verdict, 'clear');
});

test('ranking is deterministic', async () => {
  const b = await openBundle(bundle('gc-pressure'));
  const one = analyse(await loadEvidence(b));
  const two = analyse(await loadEvidence(b));
  assert.deepEqual(one.ranked.map((r) => [r.id, r.score]), two.ranked.map((r) => [r.id, r.score]));
});

test('missing evidence lowers confidence and is named, never invents a cause', async () => {
  const b = await openBundle(bundle('gc-pressure'));
  const ev = await loadEvidence(b);
  const full = analyse(ev);
  // Without the allocs profile GC pressure is still found (CPU profile, GC metrics) but less surely.
  delete ev.spike.profiles.allocs;
  const thin = analyse(ev);
  const f = full.reported.find((r) => r.id === 'gc-pressure')!;
  const t = thin.reported.find((r) => r.id === 'gc-pressure')!;
  assert.ok(t.score < f.score, `${t.score} < ${f.score}`);
  assert.ok(t.missing.includes('allocs profile'));
  assert.ok(!f.missing.includes('allocs profile'));
  // With no evidence at all nothing is claimed, and the verdict says it cannot tell.
  ev.spike.profiles = {};
  if (ev.baseline) ev.baseline.profiles = {};
  ev.metrics = {};
  const none = analyse(ev);
  assert.equal(none.ranked.length, 0);
  assert.equal(none.verdict, 'inconclusive');
});

test('live investigation shape: without baseline profiles (only baseline metrics) every cause is still found', async () => {
  for (const name of [...USER_SPACE_CAUSES, 'healthy']) {
    const ev = await loadEvidence(await openBundle(bundle(name)));
    ev.baseline!.profiles = {};
    const a = analyse(ev);
    if (name === 'healthy') assert.equal(a.reported.length, 0, `healthy: ${describeRanked(a)}`);
    else assert.equal(a.reported[0]?.id, name, `${name}: ${describeRanked(a)}`);
  }
});

test('a leak that began before the baseline window is found from its climb across the spike snapshots', async () => {
  // Recorded live by the accuracy suite: the baseline already held 1300 leaked goroutines, so the
  // count did not double; only the rise within the spike window shows the leak.
  const ev = await loadEvidence(await openBundle(bundle('goroutine-leak-live')));
  const a = analyse(ev);
  assert.equal(a.reported[0]?.id, 'goroutine-leak', describeRanked(a));
  assert.match(a.reported[0].reasons.join(' '), /climbing from \d+ to \d+ during the capture/);
  // The same snapshots without their order (one mean) no longer show the climb.
  delete ev.spike.profiles.goroutine!.series;
  assert.doesNotMatch(analyse(ev).ranked.find((r) => r.id === 'goroutine-leak')?.reasons.join(' ') ?? '', /climbing/);
});

test('live lock contention with in-flight requests up under 3×: the estimated baseline is no reason to stay silent', async () => {
  // Recorded by the accuracy suite in a CI run (baseline metrics only): requests in flight rose
  // 2.75×, so a baseline split in proportion to the spike's could never show lock waits up 3×.
  const a = analyse(await loadEvidence(await openBundle(bundle('lock-contention-live'))));
  assert.equal(a.reported[0]?.id, 'lock-contention', describeRanked(a));
});
