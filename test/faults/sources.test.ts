/**
 * Fault injection at the sources, in process: HTTP servers that answer the pprof and Prometheus
 * collectors with errors, garbage, half a body, a stall or a slow but good answer. Each fault fails
 * only the collector it hits, with a message that says what happened; the capture itself finishes.
 * (End-to-end versions through the CLI against a real Go service: test/cli/investigate.test.ts and
 * test/faults/investigate.test.ts.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BundleWriter } from '../../src/evidence/bundle.js';
import type { CollectorEntry } from '../../src/evidence/manifest.js';
import { capturePprofWindow } from '../../src/sources/pprof/capture.js';
import { capturePrometheus } from '../../src/sources/prometheus/capture.js';
import { bundle, tmpDir } from '../helpers.js';

const CPU = await readFile(path.join(bundle('lock-contention'), 'pprof', 'spike', 'cpu.pb.gz'));
const HEAP = await readFile(path.join(bundle('lock-contention'), 'pprof', 'spike', 'heap.pb.gz'));
const PROM = await readFile(path.join(bundle('lock-contention'), 'prometheus', 'latency_p99.json'), 'utf8');

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** An HTTP server on an ephemeral loopback port. */
async function serve(handler: http.RequestListener): Promise<string> {
  const srv = http.createServer(handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writer(): Promise<BundleWriter> {
  return BundleWriter.create(path.join(await tmpDir(), 'bundle'));
}

const only = (w: BundleWriter, name: string): CollectorEntry => {
  const found = w.collectors.filter((c) => c.name === name);
  assert.equal(found.length, 1, `one ${name} collector`);
  return found[0];
};

// ---- pprof ----

/** A pprof endpoint: the heap answers well, the CPU profile gets `cpu`. */
const pprofServer = (cpu: (res: http.ServerResponse) => void) =>
  serve((req, res) => {
    if (req.url!.startsWith('/debug/pprof/heap')) return res.end(HEAP);
    if (req.url!.startsWith('/debug/pprof/profile')) return cpu(res);
    res.statusCode = 404;
    res.end('404 page not found\n');
  });

const PPROF_FAULTS: Array<[string, (res: http.ServerResponse) => void, RegExp]> = [
  ['404', (res) => { res.statusCode = 404; res.end('404 page not found\n'); }, /HTTP 404 — 404 page not found/],
  ['400 with a reason', (res) => { res.statusCode = 400; res.end('profile duration exceeds server\'s WriteTimeout'); }, /HTTP 400 — profile duration exceeds server's WriteTimeout/],
  ['garbage', (res) => res.end('<html><body>login</body></html>'), /not a pprof profile/],
  ['a truncated gzip', (res) => res.end(CPU.subarray(0, CPU.length >> 1)), /corrupt or truncated/],
  ['half the body, then the connection reset', (res) => {
    res.setHeader('content-length', CPU.length);
    res.write(CPU.subarray(0, 100));
    setTimeout(() => res.destroy(), 50);
  }, /aborted|socket hang up|ECONNRESET/],
];

for (const [what, fault, message] of PPROF_FAULTS) {
  test(`pprof ${what}: the cpu collector fails with the reason, the heap collector is unaffected`, async () => {
    const base = await pprofServer(fault);
    const w = await writer();
    await capturePprofWindow({ baseUrl: `${base}/debug/pprof` }, { window: 'spike', seconds: 1, goroutineSnapshots: 1, kinds: ['cpu', 'heap'] }, w);
    const cpu = only(w, 'pprof.cpu');
    assert.equal(cpu.status, 'failed');
    assert.match(cpu.message!, message);
    assert.match(cpu.message!, /\/debug\/pprof\/profile\?seconds=1/, 'names the URL');
    assert.deepEqual(cpu.artifacts, [], 'nothing kept from a failed fetch');
    assert.equal(only(w, 'pprof.heap').status, 'ok');
  });
}

test('pprof slow but within its time (a 1-s profile answered after 1.5 s): ok', async () => {
  const base = await pprofServer(async (res) => {
    await sleep(1500);
    res.end(CPU);
  });
  const w = await writer();
  await capturePprofWindow({ baseUrl: `${base}/debug/pprof` }, { window: 'spike', seconds: 1, goroutineSnapshots: 1, kinds: ['cpu'] }, w);
  assert.equal(only(w, 'pprof.cpu').status, 'ok');
  assert.deepEqual(only(w, 'pprof.cpu').artifacts, ['pprof/spike/cpu.pb.gz']);
});

test('pprof that stalls: aborting the capture (Ctrl-C) ends the wait at once, marked interrupted', async () => {
  const base = await pprofServer(() => undefined); // never answers
  const w = await writer();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const t0 = Date.now();
  await capturePprofWindow({ baseUrl: `${base}/debug/pprof` }, { window: 'spike', seconds: 1, goroutineSnapshots: 1, kinds: ['cpu'] }, w, ac.signal);
  assert.ok(Date.now() - t0 < 5000, 'does not wait for the 16-s timeout');
  assert.deepEqual([only(w, 'pprof.cpu').status, only(w, 'pprof.cpu').message], ['failed', 'interrupted']);
});

// ---- Prometheus ----

/** A Prometheus API whose answer to the query of key `bad` is `fault`; every other query is a real answer. */
const promServer = (fault: (res: http.ServerResponse) => void) =>
  serve((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const q = new URLSearchParams(body).get('query');
      if (q === 'bad_query') return fault(res);
      res.setHeader('content-type', 'application/json');
      res.end(PROM);
    });
  });

const RANGE = { start: 1795286970, end: 1795287030, step: 1 };
const QUERIES = { latency_p99: 'good_query', goroutines: 'bad_query' };

const PROM_FAULTS: Array<[string, (res: http.ServerResponse) => void, RegExp]> = [
  ['500', (res) => { res.statusCode = 500; res.end('internal error'); }, /HTTP 500 internal error/],
  ['503 from a proxy with an HTML page', (res) => { res.statusCode = 503; res.end('<html>Service Unavailable</html>'); }, /HTTP 503/],
  ['a PromQL error', (res) => { res.statusCode = 422; res.end('{"status":"error","errorType":"execution","error":"query timed out"}'); }, /Prometheus returned an error: execution query timed out/],
  ['partial JSON (the body cut short)', (res) => res.end(PROM.slice(0, PROM.length >> 1)), /not JSON/],
  ['a cut connection mid-body', (res) => {
    res.setHeader('content-length', PROM.length);
    res.write(PROM.slice(0, 50));
    setTimeout(() => res.destroy(), 50);
  }, /aborted|socket hang up|ECONNRESET/],
  ['a timeout (no answer)', () => undefined, /no complete answer within 1 s/],
];

for (const [what, fault, message] of PROM_FAULTS) {
  test(`Prometheus ${what} for one query: that series is named as failed, the others are kept`, async () => {
    const url = await promServer(fault);
    const w = await writer();
    const t0 = Date.now();
    await capturePrometheus({ url, timeoutMs: 1000 }, QUERIES, RANGE, w);
    assert.ok(Date.now() - t0 < 10_000, 'bounded by the request timeout');
    const prom = only(w, 'prometheus');
    assert.equal(prom.status, 'ok', 'some series arrived');
    assert.deepEqual(prom.artifacts, ['prometheus/latency_p99.json']);
    assert.match(prom.message!, /^goroutines: /);
    assert.match(prom.message!, message);
  });
}

test('Prometheus failing every query: the collector is failed, with the reasons', async () => {
  const url = await serve((req, res) => {
    res.statusCode = 500;
    res.end('boom');
  });
  const w = await writer();
  await capturePrometheus({ url, timeoutMs: 1000 }, QUERIES, RANGE, w);
  const prom = only(w, 'prometheus');
  assert.equal(prom.status, 'failed');
  assert.match(prom.message!, /latency_p99: .*HTTP 500 boom/);
  assert.match(prom.message!, /goroutines: .*HTTP 500 boom/);
});

test('Prometheus slow but within the timeout: ok', async () => {
  const url = await promServer(async (res) => {
    await sleep(600);
    res.end(PROM);
  });
  const w = await writer();
  await capturePrometheus({ url, timeoutMs: 5000 }, QUERIES, RANGE, w);
  const prom = only(w, 'prometheus');
  assert.equal(prom.status, 'ok');
  assert.equal(prom.message, undefined);
  assert.deepEqual(prom.artifacts, ['prometheus/goroutines.json', 'prometheus/latency_p99.json']);
});
