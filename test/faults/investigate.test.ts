/**
 * Faults around a whole `investigate --local` against a real Go service (the lab binary on ports
 * 16400-16402): SIGINT and SIGTERM in each phase, bpftrace killed mid-run, an output directory that
 * cannot be written or fills up. Each run is its own process group (detached), so the process table
 * shows whether anything it started outlived it.
 *
 * Needs root for the mounts and for bpftrace; without root those tests skip, except under CI=true
 * where a missing prerequisite fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';
import { assertNoneLeft, collector, isRoot, manifestOf, need, spawnCli, start, waitForTracer, type Coll } from './process-group.js';

let lab: TestLab;
before(async () => {
  lab = await startTestLab(16400);
});
after(() => lab.stop());

/** Every file of a bundle 0600, every directory 0700: bundles hold stacks, labels and addresses. */
async function assertPrivate(dir: string): Promise<void> {
  assert.equal((await stat(dir)).mode & 0o777, 0o700, dir);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await assertPrivate(p);
    else assert.equal((await stat(p)).mode & 0o777, 0o600, p);
  }
}

// ---- signals in each phase ----

/** A Prometheus that takes every request and never answers: investigate stays in its first phase. */
async function stalledPrometheus(): Promise<{ url: string; firstRequest: Promise<void>; close(): void }> {
  let seen!: () => void;
  const firstRequest = new Promise<void>((r) => (seen = r));
  const srv = http.createServer(() => seen());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, firstRequest, close: () => (srv.closeAllConnections(), srv.close()) };
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // SIGINT goes to the whole group, as Ctrl-C in a terminal does; SIGTERM to the process alone, as `kill` does.
  const send = (pid: number) => (sig === 'SIGINT' ? process.kill(-pid, sig) : process.kill(pid, sig));

  test(`${sig} before capture (waiting for Prometheus): exit 130, partial bundle marked, nothing left running`, async () => {
    const prom = await stalledPrometheus();
    try {
      const out = path.join(await tmpDir(), 'bundle');
      const run = start(['investigate', '--local', '--pid', String(lab.pid), '--prometheus', prom.url, '--prometheus-timeout', '60s', '--selector', '{job="checkout"}', '--duration', '5s', '--out', out, '--no-bpf']);
      await prom.firstRequest;
      send(run.child.pid!);
      const r = await run.child;
      assert.equal(r.exitCode, 130, r.stderr);
      assert.doesNotMatch(r.stderr, /… pprof\./, 'no collector had started');
      const m = await manifestOf(out);
      assert.equal(m.complete, false);
      assert.match(m.incompleteReason, /interrupted/);
      await assertNoneLeft(run.child.pid!);
    } finally {
      prom.close();
    }
  });

  test(`${sig} during pprof capture: collectors stop, partial bundle analysed, exit 130, nothing left running`, async () => {
    const out = path.join(await tmpDir(), 'bundle');
    const t0 = Date.now();
    const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '30s', '--out', out, '--no-bpf', '--format', 'json']);
    await run.stderrMatch(/✔ pprof\.heap/); // the heap is quick: capture is under way, the CPU profile is not done
    send(run.child.pid!);
    const r = await run.child;
    assert.equal(r.exitCode, 130, r.stderr);
    assert.ok(Date.now() - t0 < 25_000, 'stopped well before the 30-s window');
    const m = await manifestOf(out);
    assert.equal(m.complete, false);
    assert.equal(collector(m, 'pprof.cpu').message, 'interrupted');
    assert.equal(collector(m, 'pprof.heap').status, 'ok');
    assert.equal(JSON.parse(r.stdout).bundle.complete, false, 'the partial bundle was analysed');
    await assertPrivate(out);
    await assertNoneLeft(run.child.pid!);
  });

  test(`${sig} during bpftrace capture: every tracer stops with it, exit 130, nothing left running`, async (t) => {
    if (!need(t, isRoot, 'root (bpftrace)')) return;
    const out = path.join(await tmpDir(), 'bundle');
    const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '30s', '--out', out, '--profiles', 'heap', '--format', 'json']);
    await waitForTracer(run.child.pid!);
    await new Promise((r) => setTimeout(r, 1000)); // a few of the staggered tracers are running
    send(run.child.pid!);
    const r = await run.child;
    assert.equal(r.exitCode, 130, r.stderr);
    const m = await manifestOf(out);
    assert.equal(m.complete, false);
    const bpf = m.collectors.filter((c: Coll) => c.name.startsWith('bpftrace.'));
    assert.equal(bpf.length, 10);
    for (const c of bpf) assert.equal(c.message, 'interrupted', c.name);
    await assertNoneLeft(run.child.pid!);
  });

  test(`${sig} during analysis: exit 130 (the bundle was already complete)`, async () => {
    const out = path.join(await tmpDir(), 'bundle');
    const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', out, '--no-bpf', '--format', 'json']);
    await run.stderrMatch(/bundle written to/);
    send(run.child.pid!);
    const r = await run.child;
    assert.equal(r.exitCode, 130, r.stderr);
    assert.match(r.stderr, /finishing the report of the bundle already written/);
    assert.equal((await manifestOf(out)).complete, true);
    await assertNoneLeft(run.child.pid!);
  });
}

// ---- bpftrace killed mid-run ----

test('bpftrace killed mid-run (SIGKILL to a real tracer): that collector fails saying so, the rest finish', async (t) => {
  if (!need(t, isRoot, 'root (bpftrace)')) return;
  const out = path.join(await tmpDir(), 'bundle');
  const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '4s', '--out', out, '--profiles', 'heap', '--no-flamegraphs', '-q']);
  const victim = await waitForTracer(run.child.pid!);
  process.kill(victim, 'SIGKILL');
  const r = await run.child;
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  assert.equal(m.complete, true);
  const bpf = m.collectors.filter((c: Coll) => c.name.startsWith('bpftrace.'));
  const killed = bpf.filter((c: Coll) => c.status === 'failed');
  assert.equal(killed.length, 1, JSON.stringify(bpf.map((c: Coll) => [c.name, c.status, c.message])));
  assert.match(killed[0].message!, /SIGKILL/);
  assert.equal(bpf.filter((c: Coll) => c.status === 'ok').length, 9);
  await assertNoneLeft(run.child.pid!);
});

test('a bpftrace stand-in that prints like bpftrace and then dies: every script fails with the signal, the run finishes', async (t) => {
  if (!need(t, isRoot && (existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events')), 'root and tracefs (p99sleuth checks both before starting bpftrace)')) return;
  const dir = await tmpDir();
  // Test double, not bpftrace: answers --version, starts "attaching", then kills itself mid-run.
  const double = path.join(dir, 'bpftrace-double-dies');
  await writeFile(double, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "bpftrace v0.20.2 (test double)"; exit 0; fi\necho "Attaching 4 probes..."\nsleep 0.5\nkill -KILL $$\n', { mode: 0o755 });
  const out = path.join(dir, 'bundle');
  const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '2s', '--out', out, '--profiles', 'heap', '--bpftrace', double, '--no-flamegraphs', '--format', 'json', '-q']);
  const r = await run.child;
  assert.equal(r.exitCode, 0, r.stderr);
  const m = await manifestOf(out);
  for (const c of m.collectors.filter((c: Coll) => c.name.startsWith('bpftrace.'))) {
    assert.equal(c.status, 'failed', c.name);
    assert.match(c.message!, /failed: .*SIGKILL|exit code SIGKILL/, c.message);
    assert.deepEqual(c.artifacts, []);
  }
  assert.equal(collector(m, 'pprof.heap').status, 'ok');
  assert.ok(JSON.parse(r.stdout).gaps.some((g: string) => /bpftrace\.\w+ \(spike\) failed/.test(g)), 'the report names the gap');
  await assertNoneLeft(run.child.pid!);
});

// ---- the output directory ----

test('--out under a regular file: exit 5 naming the path, before anything runs', async () => {
  const dir = await tmpDir();
  await writeFile(path.join(dir, 'plainfile'), 'x');
  const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', path.join(dir, 'plainfile', 'bundle'), '--no-bpf']);
  const r = await run.child;
  assert.equal(r.exitCode, 5, r.stderr);
  assert.match(r.stderr, /p99sleuth: error: cannot create .*plainfile/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  await assertNoneLeft(run.child.pid!);
});

/** Mount a tmpfs at a fresh directory for the test, unmounted afterwards. */
async function withTmpfs<T>(options: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = path.join(await tmpDir(), 'mnt');
  await mkdir(dir);
  await execa('mount', ['-t', 'tmpfs', '-o', options, 'p99sleuth-test', dir]);
  try {
    return await fn(dir);
  } finally {
    await execa('umount', [dir]);
  }
}

test('--out on a read-only file system (root ignores modes, so a read-only mount): exit 5, named', async (t) => {
  if (!need(t, isRoot, 'root (mount)')) return;
  await withTmpfs('ro,size=64k', async (dir) => {
    const r = await start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', path.join(dir, 'bundle'), '--no-bpf']).child;
    assert.equal(r.exitCode, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`p99sleuth: error: cannot create ${dir}/`));
    assert.match(r.stderr, /hint: choose a writable --out directory/);
  });
});

test('--out on a file system that fills up during capture: exit 5 naming ENOSPC, no stack trace', async (t) => {
  if (!need(t, isRoot, 'root (mount)')) return;
  await withTmpfs('size=64k', async (dir) => {
    const run = start(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', path.join(dir, 'bundle'), '--no-bpf', '--no-flamegraphs']);
    const r = await run.child;
    assert.equal(r.exitCode, 5, r.stderr);
    assert.match(r.stderr, /p99sleuth: error: cannot write .*: ENOSPC: no space left on device/);
    assert.match(r.stderr, /hint: check free space and permissions of --out/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    // The failing writes were the collectors' own: each says so rather than vanishing.
    assert.match(r.stderr, /✖ \S+ \(spike\) failed: cannot write .*ENOSPC/);
    // Nothing captured is lost or hidden: it is where --out said, and the error says so.
    const out = path.join(dir, 'bundle');
    assert.match(r.stderr, new RegExp(`(partial bundle|files captured so far) (is|are) kept in ${out}`));
    assert.ok(existsSync(out), `${out} exists`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no hidden work directory left');
    await assertNoneLeft(run.child.pid!);
  });
});

test('a finished bundle is private: files 0600, directories 0700, report included, whatever the umask', async () => {
  const out = path.join(await tmpDir(), 'bundle');
  // The child inherits a permissive umask: the modes must come from the code, not from the umask.
  const saved = process.umask(0o000);
  let r;
  try {
    r = await spawnCli(['investigate', '--local', '--pid', String(lab.pid), '--duration', '1s', '--out', out, '--no-bpf', '--profiles', 'cpu,heap', '-q']);
  } finally {
    process.umask(saved);
  }
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(existsSync(path.join(out, 'report', 'report.json')), 'flame graphs and report written');
  await assertPrivate(out);
});
