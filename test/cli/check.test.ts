/**
 * `p99sleuth check` end to end (the built CLI): against an in-process Prometheus API answering from
 * real recorded lab series (see recorded-prometheus.ts for what is recorded and what is derived), and
 * on the fixture bundles. Windows are the fixtures' own times, so every answer is reproducible.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundle, cli, copyBundle, tmpDir } from '../helpers.js';
import { recordedPrometheus, type RecordedPrometheus } from './recorded-prometheus.js';

// The gc-pressure recording: calm until 18:49:24, then GC-driven P99 of 25–43 ms (fixtures/README.md).
const FROM = '2026-11-21T18:49:13Z';
const TO = '2026-11-21T18:49:44Z';
const SEL = '{job="checkout"}';

let prom: RecordedPrometheus;
before(async () => {
  prom = await recordedPrometheus('gc-pressure');
});
after(() => prom.close());

const checkProm = (args: string[], opts: Parameters<typeof cli>[1] = {}) =>
  cli(['check', '--prometheus', prom.url, '--selector', SEL, '--from', FROM, '--to', TO, ...args], { ...opts, env: { GITHUB_STEP_SUMMARY: undefined, ...opts.env } });
const checkBundle = (args: string[], opts: Parameters<typeof cli>[1] = {}) => cli(['check', ...args], { ...opts, env: { GITHUB_STEP_SUMMARY: undefined, ...opts.env } });

interface CheckJson {
  schema: string;
  verdict: string;
  summary: string;
  basis: string;
  requests: number | null;
  window: { start: string; end: string };
  objectives: Array<{ objective: string; verdict: string; windowSeconds: number | null; worstRollingSeconds: number | null; valueSeconds: number | null; reason: string }>;
  bundle: string | null;
  report: { verdict: string; causes: Array<{ id: string; score: number }>; bundle: { path: string } } | null;
}
const json = (stdout: string) => JSON.parse(stdout) as CheckJson;

/** Exactly one error line on stderr, no stack trace. */
const oneErrorLine = (stderr: string, re: RegExp) => {
  const errors = stderr.split('\n').filter((l) => l.startsWith('p99sleuth: error: '));
  assert.equal(errors.length, 1, `one error line in:\n${stderr}`);
  assert.match(errors[0], re);
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace:\n${stderr}`);
};

test('the SLO holds → exit 0, nothing written, every query evaluated at the window end', async () => {
  const cwd = await tmpDir();
  const r = await checkProm(['--slo', 'p99<100ms,p50<=20ms'], { cwd });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /SLO holds/);
  assert.match(r.stdout, /holds\s+p99 < 100 ms\n\s+whole window\s+19\.8 ms\n\s+worst rolling\s+43\.4 ms at 2026-11-21T18:49:44\.000Z/);
  assert.match(r.stdout, /holds\s+p50 ≤ 20 ms/);
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, `fits 80 columns: ${line}`);
  assert.deepEqual(await readdir(cwd), [], 'no bundle when the SLO holds');
  const end = String(Date.parse(TO) / 1000);
  const windowQueries = prom.requests.filter((q) => q.api === 'query' && q.params.query.includes('increase('));
  assert.ok(windowQueries.length >= 3, 'request count and one whole-window quantile per objective');
  for (const q of windowQueries) {
    assert.equal(q.params.time, end, q.params.query);
    assert.match(q.params.query, /\[31s\]/, 'the increase spans the whole window');
  }
});

test('the verdict is on the whole-window quantile by default; --basis worst gates on the worst rolling value', async () => {
  // Over the window P99 is 19.8 ms, but the worst rolling P99 is 43.4 ms: 30 ms holds one way only.
  const r = await checkProm(['--slo', 'p99<30ms', '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const j = json(r.stdout);
  assert.equal(j.basis, 'window');
  assert.ok(Math.abs(j.objectives[0].windowSeconds! - 0.0198) < 0.0005, String(j.objectives[0].windowSeconds));
  assert.ok(Math.abs(j.objectives[0].worstRollingSeconds! - 0.0434) < 0.0005, String(j.objectives[0].worstRollingSeconds));
  assert.equal(j.objectives[0].valueSeconds, j.objectives[0].windowSeconds);
  assert.equal(j.requests, 1470);

  const w = await checkProm(['--slo', 'p99<30ms', '--basis', 'worst', '--no-investigate', '--format', 'json']);
  assert.equal(w.exitCode, 1, w.stderr);
  const jw = json(w.stdout);
  assert.equal(jw.verdict, 'breached');
  assert.equal(jw.objectives[0].valueSeconds, jw.objectives[0].worstRollingSeconds);
  assert.match(jw.objectives[0].reason, /43\.4 ms ≥ 30 ms at its worst rolling value/);
  assert.equal(jw.report, null, '--no-investigate: verdict only');
});

test('breached → exit 1: the window is written as a bundle from Prometheus and analysed like analyze', async () => {
  const dir = await tmpDir();
  const out = path.join(dir, 'bundle');
  const r = await checkProm(['--slo', 'p99<10ms,p50<50ms', '--out', out], { cwd: dir });
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stdout, /SLO BREACHED/);
  assert.match(r.stdout, /BREACHED\s+p99 < 10 ms/);
  assert.match(r.stdout, /holds\s+p50 < 50 ms/);
  assert.match(r.stdout, /#1 gc-pressure/, 'the ranked causes are in the output');
  assert.match(r.stdout, /Likely cause:\s+gc-pressure/);

  const m = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.target.kind, 'prometheus');
  assert.equal(m.target.selector, SEL);
  const c = m.collectors.find((x: { name: string }) => x.name === 'prometheus');
  assert.equal(c.status, 'ok');
  assert.ok(c.artifacts.includes('prometheus/latency_p99.json') && c.artifacts.includes('prometheus/gc_rate.json'));
  // The spike window is the worst stretch inside the checked window, with a calm baseline before it.
  const [from, to] = [Date.parse(FROM), Date.parse(TO)];
  for (const w of [m.windows.spike, m.windows.baseline]) assert.ok(Date.parse(w.start) >= from && Date.parse(w.end) <= to, JSON.stringify(w));
  assert.ok(Date.parse(m.windows.baseline.end) <= Date.parse(m.windows.spike.start));

  const j = json((await checkProm(['--slo', 'p99<10ms', '--out', path.join(dir, 'again'), '--format', 'json'])).stdout);
  const again = await cli(['analyze', path.join(dir, 'again'), '--format', 'json', '--no-flamegraphs']);
  const brief = (x: { verdict: string; causes: Array<{ id: string; score: number }> }) => [x.verdict, x.causes.map((k) => [k.id, k.score])];
  assert.deepEqual(brief(j.report!), brief(JSON.parse(again.stdout)), 'the same analysis as analyze');
  assert.equal(j.bundle, path.join(dir, 'again'));
});

test('--out that already holds files is a usage error before anything is queried', async () => {
  const out = await tmpDir();
  await writeFile(path.join(out, 'keep'), 'x');
  const asked = prom.requests.length;
  const r = await checkProm(['--slo', 'p99<10ms', '--out', out]);
  assert.equal(r.exitCode, 2);
  oneErrorLine(r.stderr, /already exists and is not empty/);
  assert.equal(prom.requests.length, asked);
});

test('JSON output is identical across two runs (Prometheus breach with its bundle, and a bundle)', async () => {
  const out = path.join(await tmpDir(), 'b');
  const run = async () => {
    await rm(out, { recursive: true, force: true });
    const r = await checkProm(['--slo', 'p99<10ms,p50<50ms', '--out', out, '--format', 'json']);
    assert.equal(r.exitCode, 1, r.stderr);
    return r.stdout;
  };
  const [a, b] = [await run(), await run()];
  assert.equal(a, b);
  assert.ok(json(a).report!.causes.length > 0);

  const x = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms', '--format', 'json']);
  const y = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms', '--format', 'json']);
  assert.equal(x.exitCode, 1);
  assert.equal(x.stdout, y.stdout);
});

test('no data → exit 4 "could not evaluate", never a pass: unknown series, or a window without requests', async () => {
  const none = await cli(['check', '--prometheus', prom.url, '--selector', '{job="nope"}', '--from', FROM, '--to', TO, '--slo', 'p99<10s', '--format', 'json']);
  assert.equal(none.exitCode, 4, none.stderr);
  const j = json(none.stdout);
  assert.equal(j.verdict, 'not-evaluated');
  assert.equal(j.objectives[0].verdict, 'not-evaluated');
  assert.match(j.objectives[0].reason, /no series of http_request_duration_seconds_bucket.*for \{job="nope"\}/);
  oneErrorLine(none.stderr, /Could not evaluate p99<10s/);

  // An hour before the recording: the service had not been scraped yet.
  const early = await cli(['check', '--prometheus', prom.url, '--selector', SEL, '--from', '2026-11-21T17:40:00Z', '--to', '2026-11-21T17:50:00Z', '--slo', 'p99<10s']);
  assert.equal(early.exitCode, 4, early.stderr);
  assert.match(early.stdout, /SLO NOT EVALUATED/);
});

test('Prometheus unreachable or failing → exit 4 with the reason, and the CI outputs still written', async () => {
  const broken = http.createServer((req, res) => {
    res.statusCode = 503;
    res.end('service unavailable');
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  try {
    const dir = await tmpDir();
    const cases: Array<[string, RegExp]> = [
      ['http://127.0.0.1:1', /ECONNREFUSED/],
      [`http://127.0.0.1:${(broken.address() as AddressInfo).port}`, /HTTP 503/],
    ];
    for (const [url, re] of cases) {
      const junit = path.join(dir, 'junit.xml');
      const r = await cli(['check', '--prometheus', url, '--selector', SEL, '--window', '5m', '--slo', 'p99<1s', '--junit', junit]);
      assert.equal(r.exitCode, 4, r.stderr);
      assert.match(r.stdout, /NOT EVALUATED\s+p99 < 1 s/);
      assert.match(r.stdout, re);
      oneErrorLine(r.stderr, re);
      assert.match(await readFile(junit, 'utf8'), /<error type="not-evaluated"/);
    }
  } finally {
    broken.closeAllConnections();
    await new Promise<void>((r) => broken.close(() => r()));
  }
});

test('a bad --slo is a usage error (exit 2) that shows the grammar; so are contradictory flags', async () => {
  for (const slo of ['p99>300ms', 'p99<300', 'p100<1s', 'p0<1s', 'p99<0ms', 'latency<1s', 'p99<300ms,,p50<1s', '']) {
    const r = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', slo]);
    assert.equal(r.exitCode, 2, `${slo}: ${r.stderr}`);
    oneErrorLine(r.stderr, /--slo/);
    assert.match(r.stderr, /hint: objectives are pNN<DURATION or pNN<=DURATION/, slo);
    assert.equal(r.stdout, '', slo);
  }
  const usage: Array<[string[], RegExp]> = [
    [['--slo', 'p99<1s'], /needs --prometheus URL or --bundle DIR/],
    [['--slo', 'p99<1s', '--bundle', bundle('healthy'), '--prometheus', prom.url], /either --prometheus or --bundle, not both/],
    [['--slo', 'p99<1s', '--prometheus', prom.url], /--prometheus needs --selector/],
    [['--bundle', bundle('healthy')], /check needs --slo/],
    [['--slo', 'p99<1s', '--prometheus', prom.url, '--selector', SEL, '--window', '5m', '--from', FROM], /--window and --from are alternatives/],
    [['--slo', 'p99<1s', '--prometheus', prom.url, '--selector', SEL, '--from', TO, '--to', FROM], /is not before --to/],
    [['--slo', 'p99<1s', '--prometheus', prom.url, '--selector', SEL, '--from', 'yesterday'], /--from "yesterday" is not a time/],
    [['--slo', 'p99<1s', '--bundle', bundle('healthy'), '--basis', 'window'], /--basis window needs --prometheus/],
    [['--slo', 'p99<1s', '--prometheus', prom.url, '--selector', 'job=checkout'], /invalid selector/],
  ];
  for (const [args, re] of usage) {
    const r = await checkBundle(args);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    oneErrorLine(r.stderr, re);
  }
});

test('--bundle on lock-contention: breached with its causes (exit 1), holds (exit 0), unmeasurable quantile (exit 4)', async () => {
  const dir = await tmpDir();
  const graphs = path.join(dir, 'graphs');
  const breach = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms,p50<50ms', '--out', graphs, '--format', 'json']);
  assert.equal(breach.exitCode, 1, breach.stderr);
  const j = json(breach.stdout);
  assert.equal(j.basis, 'worst');
  assert.deepEqual(j.objectives.map((o) => o.verdict), ['breached', 'holds']);
  assert.ok(Math.abs(j.objectives[0].worstRollingSeconds! - 0.0243) < 0.0005);
  assert.equal(j.objectives[0].windowSeconds, null, 'a bundle has no whole-window quantile');
  assert.equal(j.report!.causes[0].id, 'lock-contention');
  assert.equal(j.bundle, bundle('lock-contention'));
  assert.ok((await readdir(graphs)).some((f) => f.endsWith('.svg')), 'flame graphs in --out');

  const holds = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<50ms']);
  assert.equal(holds.exitCode, 0, holds.stderr);
  assert.match(holds.stdout, /SLO holds: p99 24\.3 ms < 50 ms at its worst rolling value/);
  assert.doesNotMatch(holds.stdout, /Investigation of|#1 /, 'no investigation when the SLO holds');

  const p95 = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p95<1s']);
  assert.equal(p95.exitCode, 4);
  assert.match(p95.stdout, /rolling P99 and P50 series only, not p95/);

  // --from/--to narrow the bundle's span: the calm baseline alone holds 10 ms.
  const calm = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms', '--from', '2026-11-21T18:50:00Z', '--to', '2026-11-21T18:50:10Z']);
  assert.equal(calm.exitCode, 0, calm.stdout);
});

test('--bundle: an unusable bundle is exit 3; a bundle without latency series is exit 4', async () => {
  const bad = await checkBundle(['--bundle', await tmpDir(), '--slo', 'p99<1s']);
  assert.equal(bad.exitCode, 3);
  oneErrorLine(bad.stderr, /manifest\.json: missing/);

  const b = await copyBundle('lock-contention');
  const file = path.join(b, 'manifest.json');
  const m = JSON.parse(await readFile(file, 'utf8'));
  m.collectors = m.collectors.filter((c: { name: string }) => c.name !== 'prometheus');
  m.collectors.push({ name: 'prometheus', status: 'not-enabled', message: 'no --prometheus', artifacts: [] });
  await writeFile(file, JSON.stringify(m));
  const r = await checkBundle(['--bundle', b, '--slo', 'p99<1s', '--format', 'json']);
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(json(r.stdout).objectives[0].reason, /the bundle has no latency series \(prometheus not-enabled: no --prometheus\)/);
});

test('$GITHUB_STEP_SUMMARY gets the Markdown appended; an unwritable one is exit 5 after the result is printed', async () => {
  const dir = await tmpDir();
  const summary = path.join(dir, 'summary.md');
  await writeFile(summary, '# earlier step\n');
  const r = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms'], { env: { GITHUB_STEP_SUMMARY: summary } });
  assert.equal(r.exitCode, 1, r.stderr);
  const md = await readFile(summary, 'utf8');
  assert.ok(md.startsWith('# earlier step\n## p99sleuth check: SLO breached\n'), md.slice(0, 200));
  assert.match(md, /\| `p99<10ms` \| — \| 24\.3 ms at 2026-11-21T18:50:30\.000Z \| \*\*breached\*\* \|/);
  assert.match(md, /### p99sleuth: cause-found/);
  assert.match(md, /`lock-contention`/);
  assert.match(r.stdout, /SLO BREACHED/, 'stdout keeps its own format');

  const gone = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms'], { env: { GITHUB_STEP_SUMMARY: path.join(dir, 'missing', 'summary.md') } });
  assert.equal(gone.exitCode, 5);
  oneErrorLine(gone.stderr, /cannot write \$GITHUB_STEP_SUMMARY .*missing\/summary\.md/);
  assert.match(gone.stdout, /SLO BREACHED/);
});

test('--junit: well-formed XML, one testcase per objective, a <failure> with the measured value and the top causes', async () => {
  const dir = await tmpDir();
  const file = path.join(dir, 'check.xml');
  const r = await checkBundle(['--bundle', bundle('lock-contention'), '--slo', 'p99<10ms,p50<50ms,p95<1s', '--junit', file]);
  assert.equal(r.exitCode, 1, r.stderr);
  const xml = await readFile(file, 'utf8');
  const els = parseXml(xml);
  assert.equal(els.filter((e) => e.name === 'testsuite').length, 1);
  const suite = els.find((e) => e.name === 'testsuite')!;
  assert.deepEqual([suite.attrs.tests, suite.attrs.failures, suite.attrs.errors], ['3', '1', '1']);
  const cases = els.filter((e) => e.name === 'testcase');
  assert.deepEqual(cases.map((c) => c.attrs.name), ['p99<10ms', 'p50<50ms', 'p95<1s'], 'attribute values unescape to the objectives');
  const failure = els.find((e) => e.name === 'failure')!;
  assert.equal(failure.parent, cases[0]);
  assert.match(failure.attrs.message, /p99 24\.3 ms ≥ 10 ms/);
  assert.match(failure.text, /Top causes:\n#1 lock-contention \(score 0\.9, confidence high\)/);
  assert.equal(els.find((e) => e.name === 'error')!.parent, cases[2]);
  assert.equal(cases[1].children.length, 0, 'a holding objective is a plain testcase');
});

test('check --help documents the flags and its exit codes', async () => {
  const r = await cli(['check', '--help']);
  assert.equal(r.exitCode, 0);
  for (const flag of ['--slo', '--prometheus', '--bundle', '--window', '--from', '--to', '--basis', '--junit', '--out', '--format']) assert.match(r.stdout, new RegExp(`${flag}\\b`));
  assert.match(r.stdout, /4\s+could not evaluate/);
  const top = await cli(['--help']);
  assert.match(top.stdout, /\bcheck\b/);
});

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  text: string;
  parent?: XmlElement;
  children: XmlElement[];
}

/**
 * A strict well-formedness check for the XML subset JUnit files use (declaration, elements,
 * attributes, text, the five predefined entities and character references), returning the elements
 * in document order. Throws on anything a conforming parser would reject in that subset.
 */
function parseXml(xml: string): XmlElement[] {
  const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const unescape = (s: string) => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s)) throw new Error(`bare & in ${JSON.stringify(s)}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    return s.replace(ENTITY, (_, e: string) => named[e] ?? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))));
  };
  const decl = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/.exec(xml);
  if (!decl) throw new Error('no XML declaration at the very start');
  const all: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  let i = decl[0].length;
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/y;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text.includes(']]>')) throw new Error('"]]>" in text');
    if (stack.length) stack[stack.length - 1].text += unescape(text);
    else if (text.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(text)}`);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    const [, close, name, rawAttrs, selfClose] = m;
    if (close) {
      if (rawAttrs || selfClose) throw new Error(`malformed end tag </${name}>`);
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
    } else {
      const attrs: Record<string, string> = {};
      for (const a of rawAttrs.matchAll(/([A-Za-z_][\w.-]*)="([^"<]*)"/g)) {
        if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]} on <${name}>`);
        attrs[a[1]] = unescape(a[2]);
      }
      const el: XmlElement = { name, attrs, text: '', parent: stack[stack.length - 1], children: [] };
      el.parent?.children.push(el);
      if (!el.parent && ++roots > 1) throw new Error('more than one root element');
      all.push(el);
      if (!selfClose) stack.push(el);
    }
    i = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed <${stack.map((e) => e.name).join('> <')}>`);
  if (roots !== 1) throw new Error('no root element');
  return all;
}

test('the XML checker itself rejects what a parser would (so the JUnit test can fail)', () => {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
  for (const bad of ['<a><b></a></b>', '<a x="1 & 2"/>', '<a>1 < 2</a>', '<a/><b/>', '<a x="1" x="2"/>', '<a>']) {
    assert.throws(() => parseXml(head + bad), Error, bad);
  }
  assert.equal(parseXml(`${head}<a x="&lt;&amp;&quot;"><b/>t&#233;</a>`)[0].attrs.x, '<&"');
  assert.equal(parseXml(`${head}<a><b/>t&#233;</a>`)[0].text, 'té');
});
