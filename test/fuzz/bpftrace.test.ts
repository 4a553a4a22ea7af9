/**
 * Property tests of the bpftrace output parsers (text and `-f json`, and the duplicate-keeping JSON
 * reader under the latter): real outputs of our scripts mutated, generated maps printed both ways
 * and read back, and the JSON reader against JSON.parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { OPEN_HIGH, OPEN_LOW, histQuantile, histTotal, parseBpftrace, stacksToFolded, type BpfKeyPart, type BpfMap, type BpfOutput, type HistBucket } from '../../src/sources/bpftrace/parse.js';
import { JsonObject, parseJsonPairs, type JsonValue } from '../../src/sources/bpftrace/jsonpairs.js';
import { ROOT } from '../helpers.js';
import { bounded, close, mutatedText, params, typedOnly } from './fuzz.js';

const FIXTURES = path.join(ROOT, 'fixtures', 'bpftrace');
const files = readdirSync(FIXTURES).sort();
const TEXT_SEEDS = files.filter((f) => f.endsWith('.txt')).map((f) => readFileSync(path.join(FIXTURES, f), 'utf8'));
const JSON_SEEDS = files.filter((f) => f.endsWith('.json')).map((f) => readFileSync(path.join(FIXTURES, f), 'utf8'));

/** What every parsed output must satisfy. */
function checkInvariants(out: BpfOutput): void {
  assert.ok(Array.isArray(out.printed));
  for (const n of [out.attachedProbes, out.lostEvents]) assert.ok(n === undefined || (Number.isFinite(n) && n >= 0));
  for (const [name, m] of Object.entries(out.maps)) {
    assert.match(name, /^@/);
    switch (m.kind) {
      case 'scalar':
        assert.ok(Number.isFinite(m.value));
        break;
      case 'values': {
        for (const e of m.entries) assert.ok(Number.isFinite(e.value));
        // Stack maps fold for flame graphs: the folded total is the sum of what it kept.
        const f = stacksToFolded(m);
        assert.ok(close(f.total, f.stacks.reduce((t, s) => t + s.value, 0)));
        for (const s of f.stacks) assert.ok(s.frames.length > 0 && s.value !== 0);
        break;
      }
      case 'hist':
        for (const e of m.entries) {
          for (const b of e.buckets) assert.ok(Number.isFinite(b.lo) && Number.isFinite(b.hi) && Number.isFinite(b.count) && b.count >= 0, `bucket ${JSON.stringify(b)}`);
          const total = histTotal(e.buckets);
          assert.ok(total >= 0);
          const p99 = histQuantile(e.buckets, 0.99);
          assert.equal(p99 === undefined, total === 0);
          if (p99 !== undefined) assert.ok(Number.isFinite(p99), `p99 ${p99}`);
        }
        break;
      case 'stats':
        for (const e of m.entries) assert.ok([e.count, e.average, e.total].every(Number.isFinite));
        break;
    }
  }
}

test('mutated real text output: parsed maps keep their invariants, or an input error', () => {
  fc.assert(
    fc.property(mutatedText(TEXT_SEEDS), (text) => {
      const out = typedOnly(text, () => parseBpftrace(text, 'fuzz.txt'));
      if (out) checkInvariants(out);
    }),
    params(400),
  );
});

test('mutated real JSON output: parsed maps keep their invariants, or an input error', () => {
  fc.assert(
    fc.property(mutatedText(JSON_SEEDS), (text) => {
      const out = typedOnly(text, () => parseBpftrace(text, 'fuzz.json'));
      if (out) checkInvariants(out);
    }),
    params(400),
  );
});

test('arbitrary text: an input error or a consistent parse', () => {
  const line = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('@m: 1', '@m[', ']: 2', '[1, 2)   3 |@@|', '@s: count 1, average 2, total 3', '{"type": "map", "data": {}}', 'Attaching 2 probes...', 'Lost 5 events'));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n')), (text) => {
      const out = typedOnly(text, () => parseBpftrace(text, 'fuzz'));
      if (out) checkInvariants(out);
    }),
    params(400),
  );
});

// ---- generated maps, printed as bpftrace prints them, read back ----

type GenPart = { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'stack'; v: string[] };
type GenValue = { kind: 'values'; value: number } | { kind: 'hist'; buckets: HistBucket[] } | { kind: 'stats'; count: number; average: number; total: number };
interface GenMap {
  name: string;
  keyed: boolean;
  entries: Array<{ key: GenPart[]; value: GenValue }>;
}

// Frames as bpftrace prints them: symbol+offset, Go generics with ", " inside brackets, modules.
const frame = fc.oneof(fc.stringMatching(/^[A-Za-z_][\w.*()/]{0,24}\+\d{1,4}$/), fc.constantFrom('main.Map[go.shape.int, go.shape.string]+12', 'runtime.goexit.abi0+1', '0x7f3a2b1c', 'do_syscall_64+113 ([kernel.kallsyms])'));
const part: fc.Arbitrary<GenPart> = fc.oneof(
  fc.integer({ min: -1e12, max: 1e12 }).map((v) => ({ t: 'num' as const, v })),
  fc.stringMatching(/^[A-Za-z_:.][\w:.\-/]{0,15}$/).map((v) => ({ t: 'str' as const, v })),
  fc.array(frame, { minLength: 1, maxLength: 6 }).map((v) => ({ t: 'stack' as const, v })),
);

/** Increasing bucket bounds, some on multiples of 1024 (printed with K/M/G suffixes), maybe open-ended. */
const buckets: fc.Arbitrary<HistBucket[]> = fc
  .record({
    bounds: fc.uniqueArray(fc.oneof(fc.nat({ max: 5000 }), fc.nat({ max: 2 ** 20 }).map((x) => x * 1024)), { minLength: 2, maxLength: 8 }),
    counts: fc.array(fc.nat({ max: 1e9 }), { minLength: 9, maxLength: 9 }),
    openLow: fc.boolean(),
    openHigh: fc.boolean(),
  })
  .map(({ bounds, counts, openLow, openHigh }) => {
    const b = [...bounds].sort((x, y) => x - y);
    const out: HistBucket[] = [];
    if (openLow) out.push({ lo: OPEN_LOW, hi: b[0], count: counts[8] });
    for (let i = 0; i + 1 < b.length; i++) out.push({ lo: b[i], hi: b[i + 1], count: counts[i] });
    if (openHigh) out.push({ lo: b[b.length - 1], hi: OPEN_HIGH, count: counts[7] });
    return out;
  });

const value = (kind: GenValue['kind']): fc.Arbitrary<GenValue> =>
  kind === 'values'
    ? fc.integer({ min: -1e12, max: 1e12 }).map((v) => ({ kind, value: v }))
    : kind === 'hist'
      ? buckets.map((b) => ({ kind, buckets: b }))
      : fc.record({ count: fc.nat({ max: 1e9 }), average: fc.nat({ max: 1e9 }), total: fc.nat({ max: 1e12 }) }).map((s) => ({ kind, ...s }));

const genMap: fc.Arbitrary<GenMap> = fc
  .record({ name: fc.stringMatching(/^@[a-z_][a-z0-9_]{0,10}$/), kind: fc.constantFrom('values' as const, 'hist' as const, 'stats' as const), keyed: fc.boolean(), arity: fc.integer({ min: 1, max: 4 }) })
  .chain(({ name, kind, keyed, arity }) =>
    fc.record({
      name: fc.constant(name),
      keyed: fc.constant(keyed),
      entries: keyed
        ? fc.uniqueArray(fc.record({ key: fc.array(part, { minLength: arity, maxLength: arity }), value: value(kind) }), { minLength: 1, maxLength: 5, selector: (e) => JSON.stringify(e.key) })
        : value(kind).map((v) => [{ key: [], value: v }]),
    }),
  );
const genMaps = fc.uniqueArray(genMap, { minLength: 1, maxLength: 4, selector: (m) => m.name });

const SUFFIXES: Array<[number, string]> = [[2 ** 40, 'T'], [2 ** 30, 'G'], [2 ** 20, 'M'], [2 ** 10, 'K']];
const label = (v: number) => {
  for (const [unit, s] of SUFFIXES) if (v !== 0 && v % unit === 0) return `${v / unit}${s}`;
  return String(v);
};
const stackText = (frames: string[]) => '\n' + frames.map((f) => `    ${f}\n`).join('');
const partText = (p: GenPart) => (p.t === 'stack' ? stackText(p.v) : String(p.v));

function histRows(bs: HistBucket[]): string[] {
  return bs.map((b) => {
    const range = b.lo === OPEN_LOW ? `(..., ${label(b.hi)})` : b.hi === OPEN_HIGH ? `[${label(b.lo)}, ...)` : b.hi === b.lo + 1 ? `[${label(b.lo)}]` : `[${label(b.lo)}, ${label(b.hi)})`;
    return `${range.padEnd(20)} ${String(b.count).padStart(8)} |${'@'.repeat(Math.min(52, b.count % 53)).padEnd(52)}|`;
  });
}

/** The text bpftrace prints at exit for these maps. */
function toText(maps: GenMap[], printed: string[]): string {
  const lines = ['Attaching 3 probes...', ...printed, ''];
  for (const m of maps) {
    for (const e of m.entries) {
      const head = m.keyed ? `${m.name}[${e.key.map(partText).join(', ')}]:` : `${m.name}:`;
      const v = e.value;
      if (v.kind === 'hist') lines.push(`${head} `, ...histRows(v.buckets), '');
      else if (v.kind === 'stats') lines.push(`${head} count ${v.count}, average ${v.average}, total ${v.total}`);
      else lines.push(`${head} ${v.value}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The same maps as `bpftrace -f json` prints them (keys joined by ","; buckets closed [min, max]). */
function toJson(maps: GenMap[], printed: string[]): string {
  const jsonValue = (v: GenValue): unknown => {
    if (v.kind === 'values') return v.value;
    if (v.kind === 'stats') return { count: v.count, average: v.average, total: v.total };
    return v.buckets.map((b) => ({ ...(b.lo === OPEN_LOW ? {} : { min: b.lo }), ...(b.hi === OPEN_HIGH ? {} : { max: b.hi - 1 }), count: b.count }));
  };
  const lines = [JSON.stringify({ type: 'attached_probes', data: { probes: 3 } })];
  for (const p of printed) lines.push(JSON.stringify({ type: 'printf', data: p + '\n' }));
  for (const m of maps) {
    const type = m.entries[0].value.kind === 'values' ? 'map' : m.entries[0].value.kind;
    const data = m.keyed ? Object.fromEntries(m.entries.map((e) => [e.key.map(partText).join(','), jsonValue(e.value)])) : jsonValue(m.entries[0].value);
    lines.push(JSON.stringify({ type, data: { [m.name]: data } }));
  }
  return lines.join('\n') + '\n';
}

/** The model the parser should produce. */
function expected(maps: GenMap[]): Record<string, BpfMap> {
  const key = (k: GenPart[]): BpfKeyPart[] => k.map((p) => (p.t === 'stack' ? p.v : p.v));
  const out: Record<string, BpfMap> = {};
  for (const m of maps) {
    const v0 = m.entries[0].value;
    if (v0.kind === 'values') {
      out[m.name] = m.keyed ? { kind: 'values', entries: m.entries.map((e) => ({ key: key(e.key), value: (e.value as { value: number }).value })) } : { kind: 'scalar', value: v0.value };
    } else if (v0.kind === 'hist') {
      out[m.name] = { kind: 'hist', entries: m.entries.map((e) => ({ key: key(e.key), buckets: (e.value as { buckets: HistBucket[] }).buckets })) };
    } else {
      out[m.name] = {
        kind: 'stats',
        entries: m.entries.map((e) => {
          const v = e.value as { count: number; average: number; total: number };
          return { key: key(e.key), count: v.count, average: v.average, total: v.total };
        }),
      };
    }
  }
  return out;
}

/** Entries in key order: JSON objects list integer-like keys first, so order is not part of the model. */
function sorted(maps: Record<string, BpfMap>): Record<string, BpfMap> {
  const out: Record<string, BpfMap> = {};
  for (const [name, m] of Object.entries(maps)) {
    out[name] = m.kind === 'scalar' ? m : ({ ...m, entries: [...m.entries].sort((a, b) => (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1)) } as BpfMap);
  }
  return out;
}

// Strings that are all digits read back as numbers; frames are trimmed: keep the generated ones
// comparable by their printed form.
const printedLine = fc.stringMatching(/^[A-Za-z][\w =:.,%-]{0,30}$/).filter((l) => !/^(Attaching|Lost) /.test(l));

test('generated maps printed as text and as JSON read back to the same model', () => {
  fc.assert(
    fc.property(genMaps, fc.array(printedLine, { maxLength: 3 }), (maps, printed) => {
      const want = expected(maps);
      const text = toText(maps, printed);
      const t = bounded(text, () => parseBpftrace(text, 'generated.txt'));
      assert.deepEqual(sorted(t.maps), sorted(want), text);
      assert.deepEqual(t.printed, printed);
      assert.equal(t.attachedProbes, 3);
      const json = toJson(maps, printed);
      const j = bounded(json, () => parseBpftrace(json, 'generated.json'));
      assert.deepEqual(sorted(j.maps), sorted(want), json);
      assert.deepEqual(j.printed, printed);
      checkInvariants(t);
    }),
    params(300),
  );
});

// ---- the duplicate-keeping JSON reader ----

/** A JsonValue as plain JSON (last duplicate wins, as JSON.parse keeps it). */
function plain(v: JsonValue): unknown {
  if (v instanceof JsonObject) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v.members) Object.defineProperty(o, k, { value: plain(x), enumerable: true, configurable: true, writable: true });
    return o;
  }
  return Array.isArray(v) ? v.map(plain) : v;
}

test('parseJsonPairs reads every JSON document exactly as JSON.parse does', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (v, indent) => {
      const text = JSON.stringify(v, null, indent);
      assert.deepEqual(bounded(text, () => plain(parseJsonPairs(text))), JSON.parse(text));
    }),
    params(400),
  );
});

test('parseJsonPairs on broken JSON: a SyntaxError, never another error or a hang', () => {
  fc.assert(
    fc.property(mutatedText([...JSON_SEEDS.flatMap((s) => s.split('\n').filter((l) => l.trim()))]), (text) => {
      try {
        bounded(text, () => parseJsonPairs(text));
      } catch (err) {
        assert.ok(err instanceof SyntaxError, `threw ${String(err)}`);
        // Whatever JSON.parse accepts, the reader accepts too.
        assert.throws(() => JSON.parse(text), `JSON.parse accepts what parseJsonPairs refused: ${JSON.stringify(text.slice(0, 200))}`);
      }
    }),
    params(400),
  );
});

// ---- regressions found by the properties above ----

test('regression: JSON map names must be bpftrace map names; counts are never negative', () => {
  const bad = [
    // A mutated name: was accepted as a map named "[4D6bF]c&@softirq_count".
    '{"type": "map", "data": {"[4D6bF]c&@softirq_count": {"8": 19}}}',
    // Was silently dropped: assigning out["__proto__"] replaced the maps object's prototype.
    '{"type": "map", "data": {"__proto__": {"1": 2}}}',
    '{"type": "attached_probes", "data": {"probes": -686494732}}',
    '{"type": "lost_events", "data": {"events": -1}}',
    '{"type": "hist", "data": {"@h": [{"min": 1, "max": 1, "count": -5}]}}',
  ];
  for (const line of bad) assert.throws(() => parseBpftrace(line + '\n', 'r.json'), (e: unknown) => e instanceof Error && e.name === 'SleuthError' && /r\.json:1: /.test(e.message), line);
  assert.deepEqual(parseBpftrace('{"type": "map", "data": {"@": {"1": 2}}}\n', 'r.json').maps['@'], { kind: 'values', entries: [{ key: [1], value: 2 }] });
});
