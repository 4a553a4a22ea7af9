/**
 * `investigate --profiles-from` end to end: a spike that Prometheus shows has already ended gets its
 * profiles (and the baseline's) from a profile store — a real grpc-js server speaking Parca's
 * vendored protos and answering with real lab profiles — and no live capture pretends to describe it.
 * Prometheus is a small stub in Prometheus' JSON shapes, with a P99 that rose 10 to 5 minutes ago.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PARCA_QUERY } from '../../src/sources/profilestore/protos.js';
import { cli, tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';
import { gz } from '../sources/profilestore/fixture.js';
import { startGrpc, type TestServer } from '../sources/profilestore/servers.js';

let lab: TestLab;
let store: TestServer;
let prom: http.Server;
let promUrl: string;
const now = Date.now() / 1000;
const SPIKE = { start: now - 600, end: now - 300 };
const storeAsked: Array<{ query: string; start: number; end: number }> = [];

const TYPES = [
  ['process_cpu', 'cpu', 'nanoseconds', 'cpu', 'nanoseconds', true],
  ['goroutine', 'goroutine', 'count', 'goroutine', 'count', false],
].map(([name, sample_type, sample_unit, period_type, period_unit, delta]) => ({ name, sample_type, sample_unit, period_type, period_unit, delta }));

before(async () => {
  lab = await startTestLab(17580);
  store = await startGrpc(PARCA_QUERY, {
    ProfileTypes: () => ({ types: TYPES }),
    Query: (r) => {
      const m = (r as { merge: { query: string; start: { seconds: number }; end: { seconds: number } } }).merge;
      storeAsked.push({ query: m.query, start: Number(m.start.seconds), end: Number(m.end.seconds) });
      const window = Number(m.start.seconds) >= SPIKE.start - 5 ? 'spike' : 'baseline';
      return { pprof: gz(window, m.query.startsWith('process_cpu') ? 'cpu' : 'goroutine-0') };
    },
    QueryRange: () => ({ series: [{ samples: [{ count: 1 }] }] }),
  });
  prom = http.createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const p = new URLSearchParams(body);
    const q = p.get('query') ?? '';
    const ok = (resultType: string, result: unknown[]) => res.end(JSON.stringify({ status: 'success', data: { resultType, result } }));
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/api/v1/query_range')) {
      if (!/histogram_quantile\(0\.99/.test(q)) return ok('matrix', []);
      const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(p.get(k)));
      const values: Array<[number, string]> = [];
      for (let t = start; t <= end; t += step) values.push([t, String(t >= SPIKE.start && t <= SPIKE.end ? 0.2 : 0.005 + ((t * 7919) % 10) / 10_000)]);
      return ok('matrix', [{ metric: {}, values }]);
    }
    if (/^up\{instance=~/.test(q)) return ok('vector', [{ metric: { __name__: 'up', job: 'checkout', instance: `127.0.0.1:${lab.port}` }, value: [now, '1'] }]);
    if (/^up\{.*\}\[2m\]$/.test(q)) return ok('matrix', [{ metric: {}, values: [0, 1, 2, 3].map((i) => [now - 15 * i, '1']) }]);
    if (/^count\(http_request_duration_seconds_bucket/.test(q)) return ok('vector', [{ metric: {}, value: [now, '12'] }]);
    return ok('vector', []);
  });
  await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
  promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
});
after(async () => {
  await lab.stop();
  await store.close();
  prom.closeAllConnections();
  prom.close();
});

test('a spike that has passed: its profiles and the baseline come from the store; live capture and kernel evidence are skipped, saying why', { timeout: 60_000 }, async () => {
  const out = path.join(await tmpDir(), 'bundle');
  const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', promUrl, '--since', '30m', '--duration', '2s', '--profiles', 'cpu,goroutine', '--profiles-from', `parca://127.0.0.1:${store.port}`, '--profiles-selector', '{job="checkout"}', '--out', out, '--no-flamegraphs', '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
  // The bundle's spike window is the past spike (Prometheus' 15-s steps around it), not "now".
  const spikeStart = Date.parse(m.windows.spike.start) / 1000;
  const spikeEnd = Date.parse(m.windows.spike.end) / 1000;
  assert.ok(Math.abs(spikeStart - SPIKE.start) < 30 && Math.abs(spikeEnd - SPIKE.end) < 30, JSON.stringify(m.windows));
  assert.ok(m.windows.baseline && Date.parse(m.windows.baseline.end) / 1000 <= SPIKE.start + 1);
  const cpu = m.collectors.filter((c: any) => c.name === 'pprof.cpu');
  assert.deepEqual(cpu.map((c: any) => `${c.window}:${c.status}`).sort(), ['baseline:ok', 'spike:ok'], 'one cpu profile per window, both from the store');
  for (const c of cpu) assert.match(JSON.stringify(c.meta), /parca:\/\/127\.0\.0\.1/);
  // The store was asked for exactly those windows.
  const cpuAsked = storeAsked.filter((a) => a.query.startsWith('process_cpu'));
  assert.ok(cpuAsked.some((a) => Math.abs(a.start - spikeStart) < 2 && Math.abs(a.end - spikeEnd) < 2), JSON.stringify(cpuAsked));
  const procfs = m.collectors.find((c: any) => c.name === 'procfs');
  assert.equal(procfs.status, 'skipped');
  assert.match(procfs.message, /the spike ended at .*kernel evidence of the present would not describe it/);
  assert.equal(m.target.profilesUrl, `parca://127.0.0.1:${store.port}`);
  const report = JSON.parse(r.stdout);
  assert.ok(report.bundle.windows.baseline, 'the report diffs against a baseline');
});
