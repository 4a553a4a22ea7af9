/**
 * Property tests of the Prometheus HTTP API response parser: real recorded answers mutated as text,
 * generated answers of every shape the API documents (and shapes it does not), and a round trip.
 * A response parses into well-typed series (string labels, finite points) or is an input error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { combine, parsePromResponse, summarise, type Series } from '../../src/sources/prometheus/parse.js';
import { findSpikes } from '../../src/sources/prometheus/spike.js';
import { BUNDLES } from '../helpers.js';
import { bounded, mutatedText, params, typedOnly } from './fuzz.js';

// Every distinct answer recorded in the fixture bundles (matrix results of the lab's Prometheus).
const SEEDS = [...new Set(readdirSync(BUNDLES).flatMap((b) => {
  const dir = path.join(BUNDLES, b, 'prometheus');
  try {
    return readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    return [];
  }
}))];

function checkInvariants(series: Series[]): void {
  for (const s of series) {
    assert.ok(s.labels !== null && typeof s.labels === 'object' && !Array.isArray(s.labels), 'labels are an object');
    for (const v of Object.values(s.labels)) assert.equal(typeof v, 'string', 'label values are strings');
    for (const p of s.points) assert.ok(p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]), `point ${JSON.stringify(p)}`);
  }
  // What the spike finder and the rules do with them next must not throw either.
  const pts = series.length ? combine(series) : [];
  for (let i = 1; i < pts.length && series.length > 1; i++) assert.ok(pts[i - 1][0] < pts[i][0], 'combined points in time order');
  const sum = summarise(pts);
  assert.equal(sum === undefined, pts.length === 0);
  findSpikes(pts);
}

test(`mutated real responses (${SEEDS.length} seeds): well-typed series, or an input error`, () => {
  fc.assert(
    fc.property(mutatedText(SEEDS), (text) => {
      const s = typedOnly(text, () => parsePromResponse(text, 'fuzz'));
      if (s) checkInvariants(s);
    }),
    params(400),
  );
});

// Values as the API writes them (strings), and what a broken proxy or another "compatible" API may send.
const sampleValue = fc.oneof(fc.double().map(String), fc.constantFrom('NaN', '+Inf', '-Inf', '', '1e309', 'x'), fc.integer(), fc.constant(null), fc.boolean());
const point = fc.oneof({ weight: 5, arbitrary: fc.tuple(fc.oneof(fc.integer({ min: 0, max: 2e9 }), fc.double()), sampleValue) }, { weight: 1, arbitrary: fc.anything() });
const metric = fc.oneof({ weight: 5, arbitrary: fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.string({ maxLength: 8 })) }, { weight: 1, arbitrary: fc.anything() });
const series = fc.oneof(
  { weight: 6, arbitrary: fc.record({ metric, values: fc.oneof({ weight: 5, arbitrary: fc.array(point, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.anything() }) }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: fc.record({ metric, value: point }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.anything() },
);
const response = fc.record(
  {
    status: fc.constantFrom('success', 'error', 'partial', 1),
    error: fc.string({ maxLength: 10 }),
    errorType: fc.constantFrom('bad_data', 'timeout', 'execution'),
    warnings: fc.array(fc.string({ maxLength: 10 }), { maxLength: 2 }),
    data: fc.oneof(
      { weight: 6, arbitrary: fc.record({ resultType: fc.constantFrom('matrix', 'vector', 'scalar', 'string', 'streams', 7), result: fc.oneof({ weight: 6, arbitrary: fc.array(series, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.anything() }) }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.anything() },
    ),
  },
  { requiredKeys: ['status'] },
);

test('generated responses of every shape: well-typed series, or an input error', () => {
  fc.assert(
    fc.property(response, (r) => {
      const text = JSON.stringify(r) ?? 'undefined';
      const s = typedOnly(text, () => parsePromResponse(text, 'fuzz'));
      if (s) checkInvariants(s);
    }),
    params(500),
  );
});

test('round trip: a well-formed matrix reads back as the same labels and points', () => {
  const labels = fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/), fc.string({ maxLength: 12 }), { maxKeys: 4 });
  const pts = fc.uniqueArray(fc.tuple(fc.integer({ min: 1e9, max: 2e9 }), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxLength: 20, selector: (p) => p[0] }).map((ps) => ps.sort((a, b) => a[0] - b[0]));
  fc.assert(
    fc.property(fc.array(fc.record({ labels, points: pts }), { maxLength: 4 }), (want) => {
      const text = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: want.map((s) => ({ metric: s.labels, values: s.points.map(([t, v]) => [t, String(v)]) })) } });
      const got = bounded(text, () => parsePromResponse(text, 'round-trip'));
      // -0 prints as "0": compare numerically.
      assert.deepEqual(got.map((s) => ({ labels: { ...s.labels }, points: s.points.map(([t, v]) => [t, v + 0]) })), want.map((s) => ({ labels: { ...s.labels }, points: s.points.map(([t, v]) => [t, v + 0]) })));
    }),
    params(300),
  );
});

test('regression: result entries that are not series objects, values that are not arrays, non-string labels are input errors', () => {
  const bad = [
    '{"status":"success","data":{"resultType":"matrix","result":[null]}}',
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":5}]}}',
    '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":5},"value":[1,"2"]}]}}',
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":"up","values":[]}]}}',
  ];
  for (const text of bad) assert.throws(() => parsePromResponse(text, 'r'), (e: unknown) => e instanceof Error && e.name === 'SleuthError' && (e as { kind?: string }).kind === 'input', text);
  // Number(null) and Number("") are 0: such samples were read as real zeros; they are not values.
  const [s] = parsePromResponse('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,null],[2,""],[3," "],[4,"0.5"]]}]}}', 'r');
  assert.deepEqual(s.points, [[4, 0.5]]);
});
