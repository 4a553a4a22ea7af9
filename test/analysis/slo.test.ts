import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCheckReport } from '../../src/analysis/check-report.js';
import { bundleSpan, measureBundle } from '../../src/analysis/slo-bundle.js';
import { judge, overall, parseSlo, type Objective } from '../../src/analysis/slo.js';
import { openBundle } from '../../src/evidence/bundle.js';
import { loadEvidence } from '../../src/evidence/load.js';
import { SleuthError } from '../../src/errors.js';
import { xmlEscape } from '../../src/render/junit.js';
import { bundle } from '../helpers.js';

test('parseSlo: quantiles, < and <=, every unit, several objectives in the order given', () => {
  const cases: Array<[string, Array<[string, number, string, number]>]> = [
    ['p99<300ms', [['p99<300ms', 0.99, '<', 0.3]]],
    [' p99.9 <= 1.5s , P50<50ms ', [['p99.9<=1.5s', 0.999, '<=', 1.5], ['p50<50ms', 0.5, '<', 0.05]]],
    ['p90<250us,p95<2000000ns,p75<3µs', [['p90<250us', 0.9, '<', 250e-6], ['p95<2000000ns', 0.95, '<', 2e-3], ['p75<3µs', 0.75, '<', 3e-6]]],
  ];
  for (const [text, want] of cases) {
    const got = parseSlo(text).map((o) => [o.text, o.quantile, o.comparator, o.thresholdSeconds]);
    assert.equal(got.length, want.length, text);
    got.forEach((g, i) => {
      assert.deepEqual(g.slice(0, 3), want[i].slice(0, 3), text);
      assert.ok(Math.abs((g[3] as number) - want[i][3]) < 1e-15, `${text}: ${g[3]}`);
    });
  }
});

test('parseSlo: anything else is a usage error that shows the grammar', () => {
  for (const bad of ['', ',', 'p99', 'p99<', 'p99<300', 'p99>300ms', 'p99=300ms', 'p100<1s', 'p0<1s', 'p99<0s', 'p99<1m', 'avg<1s', 'p99<1s;p50<1s', 'p99<1s,,p50<1s']) {
    assert.throws(() => parseSlo(bad), (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && /pNN<DURATION/.test(e.hint ?? ''), bad);
  }
});

test('judge: < and <= at the limit, the basis picks the value, nothing measured is never a pass', () => {
  const [lt, le] = parseSlo('p99<10ms,p99<=10ms');
  const at = { windowSeconds: 0.01, worstSeconds: 0.02 };
  assert.equal(judge(lt, at, 'window').verdict, 'breached');
  assert.equal(judge(le, at, 'window').verdict, 'holds');
  assert.equal(judge(le, at, 'worst').verdict, 'breached');
  assert.equal(judge(le, at, 'worst').valueSeconds, 0.02);
  assert.match(judge(lt, at, 'window').reason, /p99 10 ms ≥ 10 ms over the whole window/);
  assert.match(judge(le, at, 'worst').reason, /p99 20 ms > 10 ms at its worst rolling value/);

  assert.equal(judge(lt, {}, 'window').verdict, 'not-evaluated');
  assert.equal(judge(lt, { worstSeconds: 0.001 }, 'window').verdict, 'not-evaluated', 'a rolling value does not stand in for the whole window');
  assert.equal(judge(lt, { missing: 'no requests in the window', windowSeconds: 0.001 }, 'window').reason, 'no requests in the window');
});

test('overall: a breach wins, then anything not evaluated; no objectives is not a pass', () => {
  const o = parseSlo('p99<10ms')[0];
  const holds = judge(o, { windowSeconds: 0.001 }, 'window');
  const breached = judge(o, { windowSeconds: 0.1 }, 'window');
  const unknown = judge(o, {}, 'window');
  assert.equal(overall([holds, holds]), 'holds');
  assert.equal(overall([holds, unknown]), 'not-evaluated');
  assert.equal(overall([unknown, breached, holds]), 'breached');
  assert.equal(overall([]), 'not-evaluated');
});

test('measureBundle: worst rolling P99/P50 in the window; other quantiles, an empty window and zero requests are not measured', async () => {
  const ev = await loadEvidence(await openBundle(bundle('lock-contention')));
  const span = bundleSpan(ev);
  assert.deepEqual([span.start, span.end], [Date.parse('2026-11-21T18:50:00.853Z') / 1000, Date.parse('2026-11-21T18:50:30.959Z') / 1000]);
  const objectives: Objective[] = parseSlo('p99<10ms,p50<10ms,p95<10ms');
  const m = measureBundle(ev, objectives, span.start, span.end);
  assert.equal(m.rollingSeconds, 5);
  assert.equal(Math.round(m.requests!), 1419);
  assert.ok(Math.abs(m.measurements[0].worstSeconds! - 0.0243) < 0.0001);
  assert.equal(m.measurements[0].worstAt, Date.parse('2026-11-21T18:50:30Z') / 1000);
  assert.equal(m.measurements[0].windowSeconds, undefined);
  assert.ok(m.measurements[1].worstSeconds! < m.measurements[0].worstSeconds!);
  assert.match(m.measurements[2].missing!, /P99 and P50 series only, not p95/);

  const before = measureBundle(ev, objectives, span.start - 3600, span.start - 3000);
  assert.match(before.missing!, /no requests between/, 'the request-rate series has no points there');

  // A service that answered nothing in the window: its rate series is all zeros.
  const idle = { ...ev, metrics: { ...ev.metrics, request_rate: { ...ev.metrics.request_rate!, points: ev.metrics.request_rate!.points.map(([t]) => [t, 0] as [number, number]) } } };
  const z = measureBundle(idle, objectives, span.start, span.end);
  assert.equal(z.requests, 0);
  for (const x of z.measurements) assert.match(x.missing!, /no requests/);
  assert.equal(overall(objectives.map((o, i) => judge(o, z.measurements[i], 'worst'))), 'not-evaluated');
});

test('buildCheckReport: ISO times, the summary names the breach; same input, same JSON', () => {
  const [o] = parseSlo('p99<10ms');
  const input = () => ({
    slo: 'p99<10ms',
    source: { kind: 'bundle' as const, path: 'b', latencyMetric: null },
    start: 1795286400,
    end: 1795287000,
    basis: 'worst' as const,
    judgements: [judge(o, { worstSeconds: 0.0243, worstAt: 1795286430 }, 'worst')],
    notes: [],
  });
  const r = buildCheckReport(input());
  assert.equal(r.verdict, 'breached');
  assert.equal(r.objectives[0].worstRollingAt, '2026-11-21T18:40:30.000Z');
  assert.equal(r.window.seconds, 600);
  assert.equal(r.report, null);
  assert.match(r.summary, /^SLO breached: p99 24\.3 ms ≥ 10 ms at its worst rolling value\.$/);
  assert.equal(JSON.stringify(buildCheckReport(input())), JSON.stringify(r));
});

test('xmlEscape: markup characters become entities, characters XML cannot carry are dropped', () => {
  assert.equal(xmlEscape(`p99<=1s & "a" 'b' >`), 'p99&lt;=1s &amp; &quot;a&quot; &apos;b&apos; &gt;');
  assert.equal(xmlEscape('a\u0000b\u001bc\td\ne'), 'abc\td\ne');
});
