import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { combine, parsePromResponse, summarise } from '../../../src/sources/prometheus/parse.js';
import { SleuthError } from '../../../src/errors.js';
import { bundle } from '../../helpers.js';
import { matchGolden } from '../../golden.js';

const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');

test('real query_range responses from Prometheus parse to their golden summaries', async () => {
  const dir = path.join(bundle('gc-pressure'), 'prometheus');
  const lines: string[] = [];
  for (const key of ['latency_p99', 'gc_rate', 'goroutines', 'gomaxprocs', 'sched_latency_p99']) {
    const series = parsePromResponse(await readFile(path.join(dir, `${key}.json`), 'utf8'), key);
    const pts = series.length ? combine(series) : [];
    const s = summarise(pts);
    lines.push(`${key}: series=${series.length} points=${pts.length} ${s ? `first=${s.first.toPrecision(4)} last=${s.last.toPrecision(4)} max=${s.max.toPrecision(4)}` : 'absent'}`);
  }
  await matchGolden(path.join(GOLDEN, 'gc-pressure.summary.txt'), lines.join('\n') + '\n');
});

test('summaries: window filter, mean and least-squares slope', () => {
  const pts: Array<[number, number]> = [[100, 1], [101, 3], [102, 5], [103, 7], [110, 100]];
  const s = summarise(pts, 100, 103)!;
  assert.equal(s.n, 4);
  assert.equal(s.mean, 4);
  assert.equal(s.slope, 2);
  assert.equal(summarise(pts, 200, 300), undefined);
});

test('several series are summed per timestamp', () => {
  const pts = combine([{ labels: { a: '1' }, points: [[1, 1], [2, 2]] }, { labels: { a: '2' }, points: [[1, 10], [3, 30]] }]);
  assert.deepEqual(pts, [[1, 11], [2, 2], [3, 30]]);
});

test('vector results, NaN samples and error responses', () => {
  const v = parsePromResponse('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1700000000.5,"42"]}]}}', 'q');
  assert.deepEqual(v[0].points, [[1700000000.5, 42]]);
  const n = parsePromResponse('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"1"]]}]}}', 'q');
  assert.deepEqual(n[0].points, [[2, 1]]);
  const err = (re: RegExp) => (e: unknown) => e instanceof SleuthError && e.kind === 'input' && re.test(e.message);
  assert.throws(() => parsePromResponse('{"status":"error","errorType":"bad_data","error":"parse error"}', 'q.json'), err(/q\.json: Prometheus returned an error: bad_data parse error/));
  assert.throws(() => parsePromResponse('<html>', 'q.json'), err(/q\.json: not JSON/));
  assert.throws(() => parsePromResponse('{"status":"success"}', 'q.json'), err(/no data\.result/));
});
