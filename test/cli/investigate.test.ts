/**
 * `investigate --local` against a real Go service (the lab binary), plus small stub HTTP servers
 * for the failure modes a real service cannot be made to show on demand (garbage, 400 from an old
 * net/http/pprof, a Prometheus that answers 500). No Prometheus here: the accuracy suite covers it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cli, ROOT, tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';

let lab: TestLab;
let lazy: TestLab;
before(async () => {
  lab = await startTestLab(17280);
  lazy = await startTestLab(17290, ['--profile-rates=false']);
});
after(async () => {
  await lab.stop();
  await lazy.stop();
});

/** A stub HTTP server answering every request with `handler`; closed after the test. */
async function stub(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () => new Promise((r) => {
      srv.closeAllConnections(); // a stub that never answers keeps its connections open
      srv.close(() => r());
    }),
  };
}

const manifestOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
interface Coll {
  name: string;
  status: string;
  message?: string;
  artifacts: string[];
  meta?: { selector?: string; notes?: string[]; seconds?: number };
}
const collector = (m: { collectors: Coll[] }, name: string) => m.collectors.find((c) => c.name === name)!;

test('a real Go service without Prometheus: pprof found on its ports, bundle written, same analysis as analyze', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--duration', '2s', '--out', out, '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.schema, 'p99sleuth/report@1');
  assert.equal(report.bundle.path, out);
  const m = await manifestOf(out);
  assert.equal(m.complete, true);
  assert.equal(m.target.kind, 'local');
  assert.equal(m.target.pprofUrl, lab.pprof);
  for (const k of ['cpu', 'goroutine', 'heap', 'allocs']) assert.equal(collector(m, `pprof.${k}`).status, 'ok', k);
  // An idle service may show no contention at all: empty is "not-enabled" (with the reason), never "failed".
  for (const k of ['mutex', 'block']) assert.ok(['ok', 'not-enabled'].includes(collector(m, `pprof.${k}`).status), k);
  assert.equal(collector(m, 'prometheus').status, 'not-enabled');
  // Kernel evidence over the same window: procfs always; bpftrace as root (CI runs as root).
  assert.equal(collector(m, 'procfs').status, 'ok');
  assert.ok(collector(m, 'procfs').artifacts.some((a: string) => a.startsWith('procfs/after/task/')), 'per-thread schedstat read');
  const bpf = m.collectors.filter((c: { name: string }) => c.name.startsWith('bpftrace.'));
  assert.equal(bpf.length, 10);
  if (process.getuid?.() === 0) for (const c of bpf) assert.equal(c.status, 'ok', `${c.name}: ${c.message}`);
  else for (const c of bpf) assert.match(c.message, /root/);
  assert.ok(report.walk.some((w: { cause?: string; verdict: string }) => w.cause === 'cpu-throttling' && w.verdict !== 'not-observed'));
  assert.match(r.stderr, /pprof endpoint: http:\/\/127\.0\.0\.1:17280\/debug\/pprof/);
  // analyze on the same bundle says the same.
  const again = await cli(['analyze', out, '--format', 'json', '--no-flamegraphs']);
  const brief = (r: { verdict: string; causes: Array<{ id: string; score: number }> }) => [r.verdict, r.causes.map((c) => [c.id, c.score])];
  assert.deepEqual(brief(JSON.parse(again.stdout)), brief(report));
});

test('--no-bpf skips bpftrace; a missing bpftrace fails only its collectors, with the reason', async () => {
  const dir = await tmpDir();
  const off = await cli(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', path.join(dir, 'a'), '--profiles', 'heap', '--no-bpf', '--no-flamegraphs', '-q']);
  assert.equal(off.exitCode, 0, off.stderr);
  const m1 = await manifestOf(path.join(dir, 'a'));
  assert.equal(collector(m1, 'bpftrace').status, 'not-enabled');
  assert.ok(!m1.collectors.some((c: { name: string }) => c.name.startsWith('bpftrace.')));

  const gone = await cli(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', path.join(dir, 'b'), '--profiles', 'heap', '--bpftrace', '/nonexistent/bpftrace', '--no-flamegraphs', '--format', 'json']);
  assert.equal(gone.exitCode, 0, gone.stderr);
  const m2 = await manifestOf(path.join(dir, 'b'));
  for (const c of m2.collectors.filter((c: { name: string }) => c.name.startsWith('bpftrace.'))) {
    assert.equal(c.status, 'failed');
    assert.match(c.message, /not installed|not found|\/nonexistent\/bpftrace|root/);
  }
  assert.equal(collector(m2, 'procfs').status, 'ok');
  assert.equal(collector(m2, 'pprof.heap').status, 'ok');
  // Checks that only bpftrace could make are "not observed"; procfs-backed ones still run.
  const walk = JSON.parse(gone.stdout).walk as Array<{ cause?: string; verdict: string }>;
  assert.equal(walk.find((w) => w.cause === 'disk-io-latency')?.verdict !== 'not-observed', true, 'PSI io still observes disk');
  assert.equal(walk.find((w) => w.cause === 'cpu-steal')?.verdict !== 'not-observed', true, '/proc/stat observes steal');
});

test('collectors run concurrently: wall time is about the longest capture, not the sum', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  const t0 = Date.now();
  const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--duration', '4s', '--out', out, '--no-flamegraphs', '-q']);
  const wall = (Date.now() - t0) / 1000;
  assert.equal(r.exitCode, 0, r.stderr);
  // cpu, mutex, block and allocs each take 4 s and the goroutine snapshots spread over 4 s: in
  // series that would be 20 s; generous bound for a noisy machine.
  assert.ok(wall < 14, `took ${wall} s`);
});

test('mutex and block profiling switched off in the service are "not-enabled", not "no contention"', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  const r = await cli(['investigate', '--local', '--pid', String(lazy.pid), '--duration', '1s', '--out', out, '--no-bpf', '--profiles', 'mutex,block', '--no-flamegraphs', '-q']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  for (const k of ['mutex', 'block']) {
    assert.equal(collector(m, `pprof.${k}`).status, 'not-enabled');
    assert.match(collector(m, `pprof.${k}`).message!, /Set(Mutex|Block)Profile/);
  }
});

test('a pprof URL that 404s, answers garbage or an old WriteTimeout 400: those collectors fail with the reason, the rest go on', async () => {
  const garbage = await stub((req, res) => res.end('<html>hello</html>'));
  const old = await stub((req, res) => {
    res.statusCode = 400;
    res.end("profile duration exceeds server's WriteTimeout");
  });
  try {
    const cases: Array<[string, RegExp]> = [
      [`${lab.pprof}/nope`, /HTTP 404/],
      [garbage.url, /not a pprof profile/],
      [old.url, /HTTP 400 — profile duration exceeds server's WriteTimeout/],
    ];
    for (const [url, re] of cases) {
      const out = path.join(await tmpDir(), 'bundle');
      const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--pprof', url, '--duration', '1s', '--out', out, '--no-bpf', '--profiles', 'cpu,heap', '--no-flamegraphs']);
      assert.equal(r.exitCode, 0, r.stderr);
      const m = await manifestOf(out);
      assert.equal(collector(m, 'pprof.cpu').status, 'failed', url);
      assert.match(collector(m, 'pprof.cpu').message!, re);
      assert.match(r.stdout, /Collectors/);
    }
    const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--pprof', old.url, '--duration', '1s', '--out', path.join(await tmpDir(), 'b'), '--no-bpf', '--profiles', 'cpu', '--no-flamegraphs', '--format', 'json', '-q']);
    assert.match(JSON.parse(r.stdout).collectors[0].message, /WriteTimeout/);
  } finally {
    await garbage.close();
    await old.close();
  }
});

test('a pprof endpoint that never answers: that collector gives up after the capture time plus a margin', async () => {
  const dead = await stub(() => undefined);
  try {
    const out = path.join(await tmpDir(), 'bundle');
    const t0 = Date.now();
    const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--pprof', dead.url, '--duration', '1s', '--out', out, '--no-bpf', '--profiles', 'cpu', '--no-flamegraphs']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(Date.now() - t0 < 45_000, 'bounded wait');
    assert.match(collector(await manifestOf(out), 'pprof.cpu').message!, /no complete answer within 16 s/);
  } finally {
    await dead.close();
  }
});

test('Prometheus down or failing: the prometheus collector fails with the reason, profiles are still captured', async () => {
  const broken = await stub((req, res) => {
    res.statusCode = 500;
    res.end('internal error');
  });
  try {
    for (const [url, re] of [['http://127.0.0.1:1', /ECONNREFUSED/], [broken.url, /HTTP 500/]] as const) {
      const out = path.join(await tmpDir(), 'bundle');
      const r = await cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', url, '--selector', '{job="checkout"}', '--duration', '1s', '--out', out, '--no-bpf', '--profiles', 'cpu', '--no-flamegraphs']);
      assert.equal(r.exitCode, 0, r.stderr);
      const m = await manifestOf(out);
      assert.equal(collector(m, 'prometheus').status, 'failed');
      assert.match(collector(m, 'prometheus').message!, re);
      assert.equal(collector(m, 'pprof.cpu').status, 'ok');
    }
  } finally {
    await broken.close();
  }
});

test('Prometheus too slow, or without the latency histogram: named in the report, runtime series still kept', async () => {
  const slow = await stub(() => undefined); // never answers
  // A Prometheus API that knows the target but has no latency histogram for it (real response shapes).
  const noHistogram = await stub((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const q = new URLSearchParams(body).get('query') ?? '';
      res.setHeader('content-type', 'application/json');
      const now = Date.now() / 1000;
      if (req.url!.endsWith('/query') && q.startsWith('up{')) return res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', job: 'checkout', instance: `127.0.0.1:${lab.port}` }, values: [[now - 2, '1'], [now - 1, '1']] }] } }));
      if (req.url!.endsWith('/query')) return res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      const values = [[now - 2, '12'], [now - 1, '13']];
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: /go_goroutines/.test(q) ? [{ metric: {}, values }] : [] } }));
    });
  });
  try {
    const out1 = path.join(await tmpDir(), 'bundle');
    const t0 = Date.now();
    const r1 = await cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', slow.url, '--prometheus-timeout', '1s', '--selector', '{job="checkout"}', '--duration', '1s', '--out', out1, '--no-bpf', '--profiles', 'cpu', '--no-flamegraphs']);
    assert.equal(r1.exitCode, 0, r1.stderr);
    assert.ok(Date.now() - t0 < 20_000);
    assert.match(collector(await manifestOf(out1), 'prometheus').message!, /no complete answer within 1 s/);

    const out2 = path.join(await tmpDir(), 'bundle');
    const r2 = await cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', noHistogram.url, '--duration', '1s', '--out', out2, '--no-bpf', '--profiles', 'cpu', '--no-flamegraphs', '--format', 'json']);
    assert.equal(r2.exitCode, 0, r2.stderr);
    assert.match(r2.stderr, /no latency histogram/);
    const m = await manifestOf(out2);
    const prom = collector(m, 'prometheus');
    assert.equal(prom.status, 'ok');
    assert.equal(prom.meta?.selector, `{job="checkout",instance="127.0.0.1:${lab.port}"}`, 'found by the port it is scraped on');
    assert.ok(prom.artifacts.includes('prometheus/goroutines.json'));
    assert.ok(!prom.artifacts.some((a) => /^prometheus\/(latency_|request_rate)/.test(a)), 'no latency series without a histogram');
    assert.ok(prom.meta?.notes?.some((n) => /no latency histogram/.test(n)));
  } finally {
    await slow.close();
    await noHistogram.close();
  }
});

test('Prometheus over TLS with a CA file and a bearer token: the token is sent, and never written to the bundle or logs', async () => {
  const dir = await tmpDir();
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const token = 's3cr3t-token-value';
  const seen: string[] = [];
  const srv = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.statusCode = 401;
      return res.end('{"status":"error","errorType":"unauthorized","error":"no"}');
    }
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const run = (extra: string[], env: Record<string, string> = {}) =>
    cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', url, '--selector', '{job="checkout"}', '--duration', '1s', '--no-bpf', '--profiles', 'heap', '--no-flamegraphs', '--out', path.join(dir, `b${seen.length}-${extra.length}`), ...extra], { env });
  try {
    // Untrusted certificate without --prometheus-ca: refused, and said so.
    const bad = await run(['--prometheus-token', token]);
    assert.equal(bad.exitCode, 0, bad.stderr);
    assert.match(bad.stdout, /self[- ]signed|certificate/i);
    // Trusted through the CA file, token from the environment.
    const out = path.join(dir, 'good');
    const good = await cli(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', url, '--prometheus-ca', cert, '--selector', '{job="checkout"}', '--duration', '1s', '--no-bpf', '--profiles', 'heap', '--no-flamegraphs', '--out', out], { env: { P99SLEUTH_PROMETHEUS_TOKEN: token } });
    assert.equal(good.exitCode, 0, good.stderr);
    assert.ok(seen.includes(`Bearer ${token}`), 'the token reached Prometheus');
    assert.equal(collector(await manifestOf(out), 'prometheus').status, 'ok');
    const { stdout: grep } = await execa('grep', ['-rl', token, out], { reject: false });
    assert.equal(grep, '', 'no file of the bundle contains the token');
    assert.ok(!good.stderr.includes(token) && !good.stdout.includes(token), 'nor do the logs or the report');
    // --insecure-skip-tls-verify also gets through (self-signed test setups).
    const insecure = await run(['--insecure-skip-tls-verify', '--prometheus-token', token]);
    assert.equal(insecure.exitCode, 0, insecure.stderr);
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});

test('bad input is refused before anything runs: unknown PID, non-Go PID, bad selector, bad duration, mixed local and Kubernetes flags', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--local', '--pid', '999999999'], /no process with PID 999999999/],
    [['--local', '--pid', String(process.pid)], /is not a Go program/],
    [['--local', '--pid', 'x1'], /is not a process id/],
    [['--local', '--pid', String(lab.pid), '--selector', 'job=checkout'], /invalid selector/],
    [['--local', '--pid', String(lab.pid), '--duration', '10'], /--duration "10" is not a duration/],
    [['--local', '--pid', String(lab.pid), '--prometheus', 'prom:9090'], /--prometheus "prom:9090" is not an http\(s\) URL/],
    [['deploy/checkout', '-n', 'shop', '--pid', '42'], /--pid is for a process on this machine: add --local/],
    [['--local', '--pid', String(lab.pid), 'deploy/checkout'], /--local investigates a process on this machine/],
    [['deploy/checkout', '-n', 'Shop'], /namespace "Shop" is not a valid Kubernetes namespace/],
    [['deploy/--all'], /is not a valid Kubernetes name/],
    [['cronjob/nightly'], /unsupported target type "cronjob"/],
    [['-l', 'app=checkout;rm'], /label selector "app=checkout;rm" is not valid/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(['investigate', ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
});

test('Ctrl-C during capture: collectors stop, the partial bundle is kept and marked, analysed, exit 130', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'investigate', '--local', '--pid', String(lab.pid), '--duration', '30s', '--out', out, '--no-flamegraphs', '--format', 'json'], { reject: false });
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  child.kill('SIGINT');
  const r = await child;
  assert.ok(Date.now() - t0 < 10_000, 'stops promptly');
  assert.equal(r.exitCode, 130, r.stderr);
  const m = await manifestOf(out);
  assert.equal(m.complete, false);
  assert.match(m.incompleteReason, /interrupted/);
  assert.equal(collector(m, 'pprof.cpu').status, 'failed');
  assert.equal(collector(m, 'pprof.cpu').message, 'interrupted');
  assert.equal(collector(m, 'pprof.heap').status, 'ok', 'what finished before Ctrl-C is kept');
  const report = JSON.parse(r.stdout);
  assert.equal(report.bundle.complete, false);
  assert.ok(report.gaps.some((g: string) => /partial/.test(g)));
  // The kernel window ends early but is still a valid (shorter) delta; no tracer outlives the command.
  assert.equal(collector(m, 'procfs').status, 'ok');
  assert.ok(Number(collector(m, 'procfs').meta?.seconds) < 10);
  const tracers = await execa('pgrep', ['-f', `bpftrace .*scripts/bpftrace/.*\\.bt ${lab.pid} `], { reject: false });
  assert.equal(tracers.stdout.trim(), '', `bpftrace still running: ${tracers.stdout}`);
});
