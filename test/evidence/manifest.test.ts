import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateManifest, BUNDLE_SCHEMA } from '../../src/evidence/manifest.js';
import { SleuthError } from '../../src/errors.js';

const good = () => ({
  schema: BUNDLE_SCHEMA,
  tool: { name: 'p99sleuth', version: '0.1.0' },
  createdAt: '2026-11-21T00:00:00Z',
  complete: true,
  target: { kind: 'local', description: 'pid 1' },
  windows: { spike: { start: '2026-11-21T00:00:00Z', end: '2026-11-21T00:00:10Z' } },
  collectors: [{ name: 'pprof.cpu', window: 'spike', status: 'ok', artifacts: ['pprof/spike/cpu.pb.gz'] }],
});

const inputErr = (re: RegExp) => (e: unknown) => e instanceof SleuthError && e.kind === 'input' && re.test(e.message);

test('a valid manifest passes and keeps its fields', () => {
  const m = validateManifest(good(), 'm.json');
  assert.equal(m.collectors[0].name, 'pprof.cpu');
  assert.equal(m.complete, true);
});

test('missing schema, unknown version, bad windows, bad status and escaping artifacts are named', () => {
  const { schema: _s, ...noSchema } = good();
  assert.throws(() => validateManifest(noSchema, 'm.json'), inputErr(/m\.json: no "schema"/));
  assert.throws(() => validateManifest({ ...good(), schema: 'p99sleuth/bundle@9' }, 'm.json'), inputErr(/unknown bundle schema "p99sleuth\/bundle@9"/));
  assert.throws(() => validateManifest({ ...good(), windows: {} }, 'm.json'), inputErr(/windows\.spike/));
  const badStatus = good();
  (badStatus.collectors[0] as { status: string }).status = 'great';
  assert.throws(() => validateManifest(badStatus, 'm.json'), inputErr(/status "great"/));
  const escape = good();
  escape.collectors[0].artifacts = ['../../etc/passwd'];
  assert.throws(() => validateManifest(escape, 'm.json'), inputErr(/relative paths inside the bundle/));
  assert.throws(() => validateManifest([], 'm.json'), inputErr(/not a JSON object/));
});

test('complete defaults to true only when absent; false is kept', () => {
  const { complete: _c, ...rest } = good();
  assert.equal(validateManifest(rest, 'm').complete, true);
  assert.equal(validateManifest({ ...good(), complete: false }, 'm').complete, false);
});
