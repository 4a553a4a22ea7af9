/**
 * The Kubernetes path end to end, against the kubectl stand-in (a TEST DOUBLE: there is no cluster
 * here) and a REAL Go service placed in a real cgroup laid out like the kubelet's. pprof travels
 * through the stand-in's real port-forward proxy; procfs reads and bpftrace run through its exec,
 * on this machine, as they would inside the node pod. Every argv is recorded: the tests assert that
 * nothing but the node pod is ever created or deleted, and that nothing outlives the command.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { cli, ROOT, tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';
import { makeCluster, placeInPodCgroup, STANDIN, type Cluster, type Faults, type PodSpec } from './cluster.js';

const CI = process.env.CI === 'true';
const root = process.getuid?.() === 0;

let lab: TestLab;
let undoCgroup: (() => void) | undefined;
const POD = 'checkout-7d9f8b6c5-x2x4q';
const UID = '5f0c7a52-8a5e-4c1b-9d0e-2b7f3f1e9a10';
const CID = '3b1e6a0f9c2d4e8b7a6f5e4d3c2b1a09f8e7d6c5b4a392817161514131211100';

before(async () => {
  lab = await startTestLab(17480);
  // Finding the container's host process needs the process in a pod-like cgroup (root, cgroup v1).
  if (root) undoCgroup = placeInPodCgroup(lab.pid, UID, CID);
  else if (CI) throw new Error('the Kubernetes tests need root (cgroup v1 moves); CI runs as root');
});
after(async () => {
  await lab.stop();
  undoCgroup?.();
});

function checkoutPod(extra: Partial<PodSpec> = {}): PodSpec {
  return { name: POD, uid: UID, containerId: CID, labels: { app: 'checkout', 'pod-template-hash': '7d9f8b6c5' }, forward: { '6060': `127.0.0.1:${lab.port}` }, requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' }, ...extra };
}
async function cluster(faults: Faults = {}, pods: PodSpec[] = [checkoutPod()]): Promise<Cluster> {
  return makeCluster({ pods, deployments: [{ name: 'checkout', matchLabels: { app: 'checkout' } }], faults });
}
const manifestOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
const collector = (m: any, name: string) => m.collectors.find((c: any) => c.name === name);

/** What the tool asked kubectl to change in the cluster: create/delete/apply/patch/… calls only. */
function mutations(c: Cluster): string[][] {
  return c.calls().filter((a) => !a.includes('auth') && a.some((w) => ['create', 'delete', 'apply', 'patch', 'replace', 'edit', 'scale', 'label', 'annotate', 'rollout', 'set', 'cordon', 'drain', 'taint'].includes(w)));
}
function assertOnlyNodePod(c: Cluster): void {
  const s = c.state();
  for (const created of s.created ?? []) {
    assert.match(created.name, /^p99sleuth-node-[0-9a-f]{8}$/);
    assert.equal(created.manifest.metadata.labels['app.kubernetes.io/managed-by'], 'p99sleuth');
  }
  for (const m of mutations(c)) {
    const verbAt = m.findIndex((w) => w === 'create' || w === 'delete');
    assert.ok(verbAt >= 0, `unexpected mutating call: ${m.join(' ')}`);
    if (m[verbAt] === 'delete') assert.match(m[verbAt + 2], /^p99sleuth-node-/, `deletes only node pods: ${m.join(' ')}`);
    else assert.deepEqual(m.slice(verbAt), ['create', '-f', '-']);
  }
  assert.ok(!s.objects.pods.some((p) => p.metadata.labels?.['app.kubernetes.io/managed-by'] === 'p99sleuth'), 'no node pod is left');
  assert.ok(s.objects.pods.some((p) => p.metadata.name === POD), 'the target pod is untouched');
}
async function noStandinLeft(c: Cluster): Promise<void> {
  // Every kubectl the tool started (port-forward, exec) has exited: none of their PIDs is alive.
  await new Promise((r) => setTimeout(r, 500));
  const pids = (await readFile(c.logPath, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l).pid as number);
  // A zombie has ended: it only waits for this sandbox's PID 1 to reap it.
  const alive = pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], 'kubectl processes left running');
}
/** JSON Lines from a stream, whole lines only (a chunk may end mid-line). */
function onJsonLines(stream: NodeJS.ReadableStream, on: (e: any) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) on(JSON.parse(line));
  });
}
const investigate = (c: Cluster, args: string[], env: Record<string, string> = {}) => cli(['investigate', ...args, '--kubectl', STANDIN], { env: { ...c.env, ...env } });

test('deploy/NAME: pod resolved, pprof through port-forward, procfs and bpftrace through the node pod, which is then deleted', { timeout: 120_000 }, async () => {
  const c = await cluster();
  const out = path.join(await tmpDir(), 'bundle');
  const r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '3s', '--out', out, '--no-flamegraphs', '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  assert.equal(m.target.kind, 'kubernetes');
  assert.equal(m.target.pid, lab.pid, 'the container\'s host process was found from /proc by its container ID');
  const k = m.target.kubernetes;
  assert.equal(k.pod, POD);
  assert.equal(k.containerId, `containerd://${CID}`);
  assert.equal(k.qosClass, 'Burstable');
  assert.deepEqual(k.resources, { cpuRequestCores: 0.5, cpuLimitCores: 1, memoryRequestBytes: 128 * 2 ** 20, memoryLimitBytes: 256 * 2 ** 20 });
  assert.match(m.target.pprofUrl, /^http:\/\/127\.0\.0\.1:\d+\/debug\/pprof$/);
  // (mutex and block need contention to have samples; an idle service has none)
  for (const kind of ['cpu', 'heap', 'goroutine', 'allocs']) assert.equal(collector(m, `pprof.${kind}`).status, 'ok', `pprof.${kind}: ${collector(m, `pprof.${kind}`).message}`);
  assert.equal(collector(m, 'procfs').status, 'ok', collector(m, 'procfs').message);
  // The cgroup files were found under the pod's cgroup, read through the node pod.
  const info = await readFile(path.join(out, 'procfs', 'before', 'cgroup', '_info'), 'utf8');
  assert.match(info, new RegExp(`kubepods/burstable/pod${UID}/${CID}`));
  // …and read: the quota and throttling counters of the pod's cgroup came through the exec.
  assert.match(await readFile(path.join(out, 'procfs', 'after', 'cgroup', 'cpu.stat'), 'utf8'), /nr_throttled/);
  const bpf = m.collectors.filter((e: any) => e.name.startsWith('bpftrace.'));
  assert.equal(bpf.length, 10);
  if (root) assert.ok(bpf.filter((e: any) => e.status === 'ok').length >= 8, bpf.map((e: any) => `${e.name}: ${e.status} ${e.message ?? ''}`).join('\n'));
  const calls = c.calls().map((a) => a.join(' '));
  assert.ok(calls.some((a) => /port-forward --address 127\.0\.0\.1 pod\/checkout-7d9f8b6c5-x2x4q :6060/.test(a)));
  assert.ok(calls.some((a) => /exec p99sleuth-node-\w+ --container agent -- nice -n 19 bpftrace -e /.test(a)), 'bpftrace ran in the node pod');
  const created = c.state().created![0].manifest;
  assert.equal(created.spec.nodeName, 'node-a');
  assert.equal(created.spec.hostPID, true);
  assert.ok(created.spec.activeDeadlineSeconds > 0 && created.spec.activeDeadlineSeconds <= 3 + 300 + 1);
  assertOnlyNodePod(c);
  await noStandinLeft(c);
  const report = JSON.parse(r.stdout);
  assert.match(report.target ?? JSON.stringify(report), /checkout-7d9f8b6c5-x2x4q/);
});

test('--no-node-pod: pprof only, nothing is created; kernel collectors say why they are missing', { timeout: 60_000 }, async () => {
  const c = await cluster();
  const out = path.join(await tmpDir(), 'bundle');
  const r = await investigate(c, ['pod/' + POD, '-n', 'shop', '--duration', '2s', '--out', out, '--no-flamegraphs', '--no-node-pod']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  assert.equal(collector(m, 'pprof.cpu').status, 'ok');
  assert.equal(collector(m, 'procfs').status, 'failed');
  assert.match(collector(m, 'procfs').message, /--no-node-pod/);
  assert.equal(mutations(c).length, 0, 'nothing created or deleted');
  await noStandinLeft(c);
});

test('port-forward dying mid-capture: the pprof collectors fail and say so; the node pod is still deleted', { timeout: 60_000 }, async () => {
  const c = await cluster({ portForwardDiesAfterMs: 1500 });
  const out = path.join(await tmpDir(), 'bundle');
  const r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '4s', '--out', out, '--no-flamegraphs', '--no-bpf']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  const cpu = collector(m, 'pprof.cpu');
  assert.equal(cpu.status, 'failed');
  assert.match(cpu.message, /lost connection to pod/);
  assert.equal(collector(m, 'procfs').status, 'ok', 'the other collectors go on');
  assertOnlyNodePod(c);
  await noStandinLeft(c);
});

test('RBAC: exec forbidden → kernel collectors fail with the reason and the fix; pprof still captured; pod deleted', { timeout: 60_000 }, async () => {
  const c = await cluster({ forbidden: ['create pods/exec'] });
  const out = path.join(await tmpDir(), 'bundle');
  const r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '2s', '--out', out, '--no-flamegraphs']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  assert.equal(collector(m, 'pprof.cpu').status, 'ok');
  assert.equal(collector(m, 'procfs').status, 'failed');
  assert.match(collector(m, 'procfs').message, /forbidden/);
  assert.equal(collector(m, 'bpftrace').status, 'not-enabled');
  assertOnlyNodePod(c);

  // Without "watch pods", kubectl wait is refused: said as such, not as a pod that did not start.
  const c2 = await cluster({ forbidden: ['watch pods'] });
  const out2 = path.join(await tmpDir(), 'bundle');
  const r2 = await investigate(c2, ['deploy/checkout', '-n', 'shop', '--duration', '2s', '--out', out2, '--no-flamegraphs', '--no-bpf']);
  assert.equal(r2.exitCode, 0, r2.stderr);
  const procfs = collector(await manifestOf(out2), 'procfs');
  assert.match(procfs.message, /forbidden: .*cannot watch resource "pods"/);
  assert.doesNotMatch(procfs.message, /did not start/);
  assertOnlyNodePod(c2);
});

test('the node pod cannot pull its image: named, with --agent-image as the fix; it is deleted', { timeout: 60_000 }, async () => {
  const c = await cluster({ nodePodImagePull: true });
  const out = path.join(await tmpDir(), 'bundle');
  const r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '2s', '--out', out, '--no-flamegraphs', '--agent-image', 'registry.invalid/bpftrace:1']);
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  assert.match(collector(m, 'procfs').message, /ImagePullBackOff/);
  assert.match(collector(m, 'procfs').message, /--agent-image/);
  assert.equal(c.state().created![0].manifest.spec.containers[0].image, 'registry.invalid/bpftrace:1');
  assertOnlyNodePod(c);
});

test('Ctrl-C during a Kubernetes capture: exit 130, partial bundle, node pod deleted, no kubectl left running', { timeout: 90_000 }, async () => {
  const c = await cluster();
  const out = path.join(await tmpDir(), 'bundle');
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'investigate', 'deploy/checkout', '-n', 'shop', '--duration', '30s', '--out', out, '--no-flamegraphs', '--kubectl', STANDIN], { env: c.env, reject: false });
  // Wait until the capture runs (the node pod exists and pprof is being fetched).
  for (let i = 0; i < 100 && !c.calls().some((a) => a.includes('bpftrace') && a.includes('-e')); i++) await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  const r = await child;
  assert.equal(r.exitCode, 130, r.stderr);
  const m = await manifestOf(out);
  assert.equal(m.complete, false);
  assertOnlyNodePod(c);
  await noStandinLeft(c);
});

test('cluster failures are clear: unknown deployment (exit 2), unreachable API server (exit 4), slow API still works', { timeout: 90_000 }, async () => {
  const c = await cluster();
  let r = await investigate(c, ['deploy/payments', '-n', 'shop', '--duration', '1s']);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /deployments "payments" not found/);
  assert.match(r.stderr, /hint: check the name and the namespace/);

  c.setFaults({ unreachable: true });
  r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '1s']);
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(r.stderr, /API server cannot be reached/);

  c.setFaults({ apiDelayMs: 400 });
  const out = path.join(await tmpDir(), 'bundle');
  r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '2s', '--out', out, '--no-flamegraphs', '--no-bpf']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(collector(await manifestOf(out), 'pprof.cpu').status, 'ok');
  assertOnlyNodePod(c);
});

test('a workload with several pods: the choice is explained; --pods 2 investigates two, one bundle each', { timeout: 90_000 }, async () => {
  const second = checkoutPod({ name: 'checkout-7d9f8b6c5-k8p2m', uid: undefined, containerId: undefined, ready: false });
  const c = await cluster({}, [checkoutPod(), second]);
  const out = path.join(await tmpDir(), 'bundles');
  const r = await investigate(c, ['deploy/checkout', '-n', 'shop', '--duration', '2s', '--out', out, '--no-flamegraphs', '--no-node-pod', '--pods', '2', '--format', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /first ready by name of 2 running pods of deployment\/checkout|first by name of 2 running pods/);
  for (const p of [POD, second.name]) assert.equal((await manifestOf(path.join(out, p))).target.kubernetes.pod, p);
  // Two reports, one JSON document.
  const reports = JSON.parse(r.stdout);
  assert.equal(reports.length, 2);
  assert.match(JSON.stringify(reports[0].bundle), /checkout-7d9f8b6c5-x2x4q/);
});

test('doctor: every check passes against a permitted cluster; a missing permission is named with its fix (exit 4)', { timeout: 90_000 }, async () => {
  let c = await cluster();
  let r = await cli(['doctor', 'deploy/checkout', '-n', 'shop', '--kubectl', STANDIN], { env: c.env });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ok +kubectl +.*v1\.31\.0-standin/);
  assert.match(r.stdout, /ok +can create pods\/exec/);
  assert.match(r.stdout, /ok +pprof +net\/http\/pprof answers/);
  assert.match(r.stdout, /ok +node pod/);
  assert.match(r.stdout, /^ready/m);
  assertOnlyNodePod(c);

  c = await cluster({ forbidden: ['create pods/portforward'] });
  r = await cli(['doctor', 'deploy/checkout', '-n', 'shop', '--kubectl', STANDIN, '--no-node-pod', '--format', 'json'], { env: c.env });
  assert.equal(r.exitCode, 4, r.stderr);
  const checks = JSON.parse(r.stdout).checks;
  const pf = checks.find((x: any) => x.name === 'can create pods/portforward');
  assert.equal(pf.status, 'fail');
  assert.match(pf.fix, /grant "create pods\/portforward" in shop/);
  assert.equal(checks.find((x: any) => x.name === 'pprof').status, 'fail');
});

test('cleanup deletes leftover node pods (and only them); --dry-run deletes nothing', { timeout: 60_000 }, async () => {
  const c = await cluster();
  const label = { 'app.kubernetes.io/managed-by': 'p99sleuth' };
  // Left by a p99sleuth on this machine that is gone (no such PID), and one whose p99sleuth (this test) still runs.
  const leftover = { name: 'p99sleuth-node-0badc0de', labels: label, annotations: { 'p99sleuth.dev/owner': `${os.hostname()}/999999999`, 'p99sleuth.dev/expires': new Date(Date.now() + 60_000).toISOString() } };
  const live = { name: 'p99sleuth-node-1ive1ive', labels: label, annotations: { 'p99sleuth.dev/owner': `${os.hostname()}/${process.pid}`, 'p99sleuth.dev/expires': new Date(Date.now() + 60_000).toISOString() } };
  const c2 = await makeCluster({ pods: [checkoutPod(), leftover, live] });
  let r = await cli(['cleanup', '-n', 'shop', '--dry-run', '--kubectl', STANDIN], { env: c2.env });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /would delete pod shop\/p99sleuth-node-0badc0de/);
  assert.equal(c2.state().objects.pods.length, 3);
  r = await cli(['cleanup', '--all-namespaces', '--kubectl', STANDIN], { env: c2.env });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /deleted pod shop\/p99sleuth-node-0badc0de/);
  assert.match(r.stdout, new RegExp(`kept pod shop/p99sleuth-node-1ive1ive: its investigation \\(pid ${process.pid}\\) is still running \\(--all deletes it\\)`));
  assert.deepEqual(c2.state().objects.pods.map((p) => p.metadata.name), [POD, 'p99sleuth-node-1ive1ive']);
  r = await cli(['cleanup', '-n', 'shop', '--all', '--kubectl', STANDIN], { env: c2.env });
  assert.match(r.stdout, /deleted pod shop\/p99sleuth-node-1ive1ive/);
  assert.deepEqual(c2.state().objects.pods.map((p) => p.metadata.name), [POD]);
  r = await cli(['cleanup', '-n', 'shop', '--kubectl', STANDIN], { env: c.env });
  assert.match(r.stderr, /no p99sleuth node pods in namespace shop/);
});

test('the kubectl plugin entry point runs the same program under the name kubectl users type', async () => {
  const r = await execa(process.execPath, [path.join(ROOT, 'bin', 'kubectl-p99sleuth.js'), '--help'], { reject: false });
  assert.equal(r.exitCode, 0);
  assert.match(r.stdout, /Usage: kubectl p99sleuth/);
  assert.match(r.stdout, /doctor/);
});

test('watch deploy/NAME: a P99 over the threshold in Prometheus captures through the Kubernetes path; SIGINT leaves nothing behind', { timeout: 120_000 }, async () => {
  const c = await cluster();
  const prom = await fakePrometheus('0.5'); // a breach
  const promUrl = prom.url;
  const dir = await tmpDir();
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'watch', 'deploy/checkout', '-n', 'shop', '--prometheus', promUrl, '--threshold', '100ms', '--for', '1s', '--interval', '1s', '--duration', '2s', '--no-bpf', '--no-flamegraphs', '--out-dir', dir, '--format', 'json', '--kubectl', STANDIN], { env: c.env, reject: false, buffer: true });
  try {
    let spike: any;
    onJsonLines(child.stdout!, (e) => {
      if (e.kind === 'spike') spike = e;
    });
    for (let i = 0; i < 300 && !spike; i++) await new Promise((r) => setTimeout(r, 200));
    assert.ok(spike, 'a spike was captured');
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, r.stderr);
    const m = await manifestOf(spike.bundle);
    assert.equal(m.target.kind, 'kubernetes');
    assert.equal(m.target.kubernetes.pod, POD);
    assert.equal(m.target.pid, lab.pid);
    assert.equal(collector(m, 'pprof.cpu').status, 'ok');
    assert.equal(collector(m, 'procfs').status, 'ok', 'kernel evidence through the node pod');
    assertOnlyNodePod(c);
    await noStandinLeft(c);
  } finally {
    child.kill('SIGKILL');
    prom.close();
  }
});

/**
 * A Prometheus answering in its own JSON shapes: every latency query says P99 = `p99` seconds.
 * The PromQL of every query is recorded.
 */
async function fakePrometheus(p99: string): Promise<{ url: string; queries: string[]; close(): void }> {
  const http = await import('node:http');
  const queries: string[] = [];
  const now = () => Date.now() / 1000;
  const prom = http.createServer(async (req, res) => {
    // p99sleuth POSTs its queries as a form, as the Prometheus HTTP API allows.
    let body = '';
    for await (const chunk of req) body += chunk;
    const q = new URLSearchParams(body).get('query') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    queries.push(q);
    const vector = (metric: Record<string, string>, v: string) => ({ status: 'success', data: { resultType: 'vector', result: [{ metric, value: [now(), v] }] } });
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/api/v1/query_range')) return res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
    if (/^count\(http_request_duration_seconds_bucket/.test(q)) return res.end(JSON.stringify(vector({}, '12')));
    if (/histogram_quantile/.test(q)) return res.end(JSON.stringify(vector({}, p99)));
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
  });
  await new Promise<void>((r) => prom.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(prom.address() as import('node:net').AddressInfo).port}`, queries, close: () => (prom.closeAllConnections(), prom.close()) };
}

test('watch -l SELECTOR with Prometheus follows the pods: one that appears later is in the P99 query', { timeout: 120_000 }, async () => {
  const c = await cluster();
  const prom = await fakePrometheus('0.001'); // calm: no spike capture
  const dir = await tmpDir();
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'watch', '-l', 'app=checkout', '-n', 'shop', '--prometheus', prom.url, '--threshold', '10s', '--for', '0s', '--interval', '0.2s', '--duration', '1s', '--baseline-every', '1h', '--no-flamegraphs', '--out-dir', dir, '--format', 'json', '--kubectl', STANDIN], { env: c.env, reject: false, buffer: true });
  const NEW = 'checkout-7d9f8b6c5-n3w01';
  const p99Queries = () => prom.queries.filter((q) => q.startsWith('histogram_quantile'));
  const waitFor = async (pred: () => boolean, what: string) => {
    for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(pred(), `${what}; queries: ${p99Queries().slice(-3).join(' | ')}`);
  };
  try {
    await waitFor(() => p99Queries().some((q) => q.includes(POD)), 'the first pod is queried');
    assert.ok(!p99Queries().some((q) => q.includes(NEW)));
    // The ReplicaSet adds a pod: same labels, a new name.
    const s = JSON.parse(readFileSync(c.statePath, 'utf8'));
    const added = JSON.parse(JSON.stringify(s.objects.pods[0]));
    added.metadata.name = NEW;
    added.metadata.uid = '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a';
    s.objects.pods.push(added);
    writeFileSync(c.statePath, JSON.stringify(s, null, 2));
    await waitFor(() => p99Queries().some((q) => q.includes(NEW) && q.includes(POD)), 'the new pod joins the query');
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, r.stderr);
    await noStandinLeft(c);
  } finally {
    child.kill('SIGKILL');
    prom.close();
  }
});

test('watch without Prometheus: the pod\'s own /metrics through a held port-forward; a breach captures; the forward ends with the watch', { timeout: 120_000 }, async () => {
  const c = await cluster();
  const dir = await tmpDir();
  // Requests for the histogram to count: bounded in number and time.
  let stop = false;
  const traffic = (async () => {
    for (let i = 0; i < 3000 && !stop; i++) {
      await fetch(`http://127.0.0.1:${lab.port}/api/checkout`).then((r) => r.arrayBuffer(), () => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  // P99 interpolates inside the first histogram bucket (5 ms): above 1 ms, so every poll breaches.
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'watch', 'deploy/checkout', '-n', 'shop', '--threshold', '1ms', '--for', '1s', '--interval', '1s', '--duration', '2s', '--no-bpf', '--no-node-pod', '--no-flamegraphs', '--out-dir', dir, '--format', 'json', '--kubectl', STANDIN], { env: c.env, reject: false, buffer: true });
  try {
    const events: any[] = [];
    onJsonLines(child.stdout!, (e) => events.push(e));
    for (let i = 0; i < 300 && !events.some((e) => e.kind === 'spike'); i++) await new Promise((r) => setTimeout(r, 200));
    const start = events.find((e) => e.kind === 'start');
    assert.match(start?.source ?? '', /\/metrics of deployment\/checkout in shop via kubectl port-forward :6060/);
    const spike = events.find((e) => e.kind === 'spike');
    assert.ok(spike, JSON.stringify(events));
    assert.ok(spike.p99Seconds > 0);
    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, r.stderr);
    assert.equal((await manifestOf(spike.bundle)).target.kind, 'kubernetes');
    assert.equal(mutations(c).length, 0, '--no-node-pod: nothing created');
    await noStandinLeft(c);
  } finally {
    stop = true;
    await traffic;
    child.kill('SIGKILL');
  }
});

test('Ctrl-C twice: p99sleuth leaves at once and still deletes the node pod on the way out', { timeout: 90_000 }, async () => {
  const c = await cluster();
  const out = path.join(await tmpDir(), 'bundle');
  const child = execa(process.execPath, [path.join(ROOT, 'bin', 'p99sleuth.js'), 'investigate', 'deploy/checkout', '-n', 'shop', '--duration', '30s', '--out', out, '--no-flamegraphs', '--no-bpf', '--kubectl', STANDIN], { env: c.env, reject: false });
  for (let i = 0; i < 150 && !c.state().created?.length; i++) await new Promise((r) => setTimeout(r, 200));
  // Let the pod come up and the capture start, then interrupt twice in quick succession.
  for (let i = 0; i < 100 && !c.calls().some((a) => a.includes('grep') || a.some((w) => w.includes('grep'))); i++) await new Promise((r) => setTimeout(r, 200));
  // A slow API from now on: the ordinary (asynchronous) delete cannot finish before the second
  // Ctrl-C ends the process, so a pod gone right after exit was deleted by the emergency path.
  c.setFaults({ apiDelayMs: 1500 });
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const r = await child;
  assert.equal(r.exitCode, 130, r.stderr);
  assertOnlyNodePod(c);
  await noStandinLeft(c);
});
