/**
 * Property tests of the bundle manifest and what reads it: real manifests mutated as text and as
 * JSON (fields deleted, retyped, renamed, collectors dropped or duplicated), then validated, loaded
 * against the real artifacts held in memory, analysed and rendered. The manifest and loader may
 * refuse with an input error; once evidence is loaded, analysis and rendering must not throw at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { validateManifest, isSafeRelative, type Manifest } from '../../src/evidence/manifest.js';
import { loadEvidence } from '../../src/evidence/load.js';
import type { Bundle } from '../../src/evidence/bundle.js';
import { analyse } from '../../src/analysis/flow.js';
import { buildReport } from '../../src/analysis/report.js';
import { renderTerminal } from '../../src/render/terminal.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { inputError } from '../../src/errors.js';
import { BUNDLES } from '../helpers.js';
import { mutatedText, params, typedOnly, typedOnlyAsync } from './fuzz.js';

// Real bundles: one per evidence family (pprof + Prometheus; + procfs and bpftrace; healthy; a leak).
const SEED_BUNDLES = ['lock-contention-live', 'healthy', 'goroutine-leak', 'demo'];

function filesOf(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, r)).isDirectory()) for (const [k, v] of filesOf(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(path.join(dir, r)));
  }
  return out;
}

interface Seed {
  dir: string;
  manifest: Record<string, unknown>;
  files: Map<string, Buffer>;
}

/**
 * Each seed's manifest keeps at most two artifacts per collector, so one run parses a handful of
 * profiles rather than thirty (the long run does 100k of them).
 */
const SEEDS: Seed[] = SEED_BUNDLES.map((b) => {
  const dir = path.join(BUNDLES, b);
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { collectors: Array<{ name: string; artifacts: string[] }> };
  for (const c of m.collectors) if (c.name.startsWith('pprof.')) c.artifacts = c.artifacts.slice(0, 2);
  return { dir, manifest: m as unknown as Record<string, unknown>, files: filesOf(dir) };
});
const ANY_PROM = SEEDS[0].files.get('prometheus/latency_p99.json')!;
const ANY_CPU = SEEDS[0].files.get('pprof/spike/cpu.pb.gz')!;

/**
 * The bundle's files in memory. Paths a mutation invents under prometheus/ or pprof/ read as a real
 * answer or profile, so that odd names (`prometheus/__proto__.json`) reach the loader's logic.
 */
function memoryBundle(seed: Seed, manifest: Manifest): Bundle {
  return {
    dir: seed.dir,
    manifest,
    async read(rel) {
      if (!isSafeRelative(rel)) throw inputError(`manifest.json: artifact path "${rel}" escapes the bundle`);
      const data = seed.files.get(rel) ?? (rel.startsWith('prometheus/') ? ANY_PROM : rel.startsWith('pprof/') ? ANY_CPU : undefined);
      if (!data) throw inputError(`${rel}: artifact listed in manifest.json is missing`);
      return data;
    },
  };
}

// ---- JSON-level mutations ----

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path in a JSON value (the root excluded). */
function paths(v: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (v === null || typeof v !== 'object') return [];
  const keys: Array<string | number> = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...prefix, k], ...paths((v as Record<string, Json>)[k as string], [...prefix, k])]);
}

// Values that mean something somewhere in a manifest, put where they do not belong.
const INTERESTING: Json[] = [
  null, true, 0, -1, 1e308, '', 'ok', 'failed', 'skipped', 'not-enabled', 'spike', 'baseline', 'both',
  'pprof.cpu', 'pprof.goroutine', 'pprof.nope', 'prometheus', 'procfs', 'bpftrace.offcpu', 'bpftrace.oncpu', 'bpftrace.runqlat',
  '../x', '/etc/passwd', 'prometheus/__proto__.json', 'prometheus/toString.json', 'prometheus/constructor.json', 'pprof/spike/cpu.pb.gz',
  'procfs/after/proc/stat', 'bpftrace/offcpu.txt', '__proto__', '2026-11-21T18:50:20.885Z', '1970-01-01T00:00:00Z', 'not a date',
  [], {}, ['pprof/spike/cpu.pb.gz'], { seconds: -5 }, { seconds: 'x' }, { queries: 'x' }, { start: '2026-11-21T18:50:30Z', end: '2026-11-21T18:50:20Z' },
];
const anyJson: fc.Arbitrary<Json> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...INTERESTING) }, { weight: 1, arbitrary: fc.jsonValue() as fc.Arbitrary<Json> });

type JsonOp = { k: 'set'; at: number; v: Json } | { k: 'delete'; at: number } | { k: 'rename'; at: number; to: string } | { k: 'dupCollector'; at: number } | { k: 'keep'; mask: boolean[] };

const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: anyJson }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rename' as const), at: fc.nat(), to: fc.constantFrom('__proto__', 'constructor', 'toString', 'name', 'status', 'window', 'x') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dupCollector' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('keep' as const), mask: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }) }) },
);

function applyJsonOps(seed: Record<string, unknown>, ops: JsonOp[]): Json {
  const root = structuredClone(seed) as { [k: string]: Json };
  for (const op of ops) {
    const collectors = root.collectors;
    if (op.k === 'keep' || op.k === 'dupCollector') {
      if (!Array.isArray(collectors) || collectors.length === 0) continue;
      if (op.k === 'keep') root.collectors = collectors.filter((_, i) => op.mask[i % op.mask.length]);
      else collectors.push(structuredClone(collectors[op.at % collectors.length]));
      continue;
    }
    const all = paths(root);
    if (all.length === 0) continue;
    const p = all[op.at % all.length];
    const parent = p.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k as string], root) as Record<string, Json> | Json[];
    const key = p[p.length - 1];
    if (op.k === 'set') (parent as Record<string, Json>)[key as string] = op.v;
    else if (Array.isArray(parent)) parent.splice(key as number, 1);
    else {
      const v = parent[key as string];
      delete parent[key as string];
      // defineProperty: a plain assignment to "__proto__" would set the prototype, not a key (JSON.parse makes a key).
      if (op.k === 'rename') Object.defineProperty(parent, op.to, { value: v, enumerable: true, configurable: true, writable: true });
    }
  }
  return root;
}

/** validate → load → analyse → report → render, the way `analyze` runs them. */
async function pipeline(seed: Seed, text: string): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return; // openBundle reports invalid JSON as an input error before validation
  }
  const m = typedOnly(text, () => validateManifest(raw, 'manifest.json'));
  if (!m) return;
  assert.equal(typeof m.complete, 'boolean');
  const ev = await typedOnlyAsync(text, () => loadEvidence(memoryBundle(seed, m)));
  if (!ev) return;
  for (const g of ev.gaps) assert.equal(typeof g, 'string');
  // Past the loader every input is evidence: a throw from here on would be an internal error.
  const a = analyse(ev);
  for (const c of a.reported) assert.ok(Number.isFinite(c.score) && c.score >= 0 && c.score <= 1, `${c.id} score ${c.score}`);
  const report = buildReport(ev, a, {}, []);
  renderTerminal(report, { color: false });
  renderMarkdown(report);
  JSON.stringify(report);
}

test('real manifests with JSON-level mutations: input errors, or evidence that analyses and renders', async () => {
  const seedIndex = fc.nat({ max: SEEDS.length - 1 });
  await fc.assert(
    fc.asyncProperty(seedIndex, fc.array(jsonOp, { minLength: 1, maxLength: 5 }), async (i, ops) => {
      await pipeline(SEEDS[i], JSON.stringify(applyJsonOps(SEEDS[i].manifest, ops)));
    }),
    params(150),
  );
});

test('real manifests with text-level mutations: input errors, or evidence that analyses and renders', async () => {
  const texts = SEEDS.map((s) => JSON.stringify(s.manifest, null, 2));
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: SEEDS.length - 1 }).chain((i) => fc.tuple(fc.constant(i), mutatedText([texts[i]]))), async ([i, text]) => {
      await pipeline(SEEDS[i], text);
    }),
    params(100),
  );
});

test('arbitrary JSON as a manifest: an input error or a valid manifest', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.record({ schema: fc.constant('p99sleuth/bundle@1'), windows: fc.jsonValue(), collectors: fc.jsonValue(), target: fc.jsonValue() }, { requiredKeys: [] })), (v) => {
      const m = typedOnly(JSON.stringify(v) ?? '', () => validateManifest(v, 'manifest.json'));
      if (m) {
        assert.ok(Array.isArray(m.collectors));
        for (const c of m.collectors) assert.ok(c.artifacts.every(isSafeRelative));
      }
    }),
    params(400),
  );
});

test('regression: target fields of the wrong type are an input error, not a crash in the rules', async () => {
  // Found by the JSON-mutation property: `target.ports` as an object made tcp-retransmits throw
  // "object is not iterable" (new Set(ports)) after loading, i.e. an internal error on bad input.
  const seed = SEEDS[0];
  for (const [field, value] of [['ports', { a: 1 }], ['ports', [80, 'x']], ['pid', 'x'], ['latencyMetric', 5], ['description', {}]] as const) {
    const m = structuredClone(seed.manifest) as { target: Record<string, unknown> };
    m.target[field] = value;
    assert.throws(() => validateManifest(m, 'manifest.json'), (e: unknown) => e instanceof Error && e.name === 'SleuthError' && new RegExp(`target\\.${field}`).test(e.message), field);
  }
  // The real manifests still validate.
  for (const s of SEEDS) validateManifest(s.manifest, 'manifest.json');
});
