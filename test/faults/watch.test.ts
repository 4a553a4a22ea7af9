/**
 * SIGINT and SIGTERM in each phase of `watch --local` against a real Go service (the lab binary on
 * ports 16410-16412, under a bounded load): while polling between captures, during a baseline
 * capture, and during a spike capture with bpftrace tracers running. Each run is its own process
 * group, so the process table shows whether anything it started outlived it (process-group.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { ROOT, tmpDir } from '../helpers.js';
import { startTestLab, type TestLab } from '../labproc.js';
import { assertNoneLeft, isRoot, manifestOf, need, start, waitForTracer, type Coll, type Run } from './process-group.js';

const LOADGEN = path.join(ROOT, 'scripts', 'lab', 'bin', 'loadgen');

let lab: TestLab;
let load: ResultPromise;
before(async () => {
  lab = await startTestLab(16410);
  // Bounded in rate and time; the tests below take well under that.
  load = execa(LOADGEN, ['--url', `http://127.0.0.1:${lab.port}/api/checkout`, '--rate', '40', '--duration', '240s'], { stdio: 'ignore', reject: false, forceKillAfterDelay: 2000 });
});
after(async () => {
  load.kill('SIGTERM');
  await load;
  await lab.stop();
});

/** The JSON event lines a finished watch printed. */
const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string; bundle?: string; complete?: boolean });

/** After the signal: exit 130, a last `stop` line, and nothing of the group left running. */
async function assertStopped(run: Run): Promise<ReturnType<typeof events>> {
  const r = await run.child;
  assert.equal(r.exitCode, 130, r.stderr);
  const ev = events(r.stdout);
  assert.equal(ev.at(-1)?.kind, 'stop', r.stdout);
  await assertNoneLeft(run.child.pid!);
  return ev;
}

// P99 of the test service under this load is a few milliseconds: 10 s is never crossed, 1 ms always is.
const CALM = ['--threshold', '10s', '--for', '0s', '--interval', '1s', '--no-flamegraphs', '--format', 'json'];
const SPIKE = ['--threshold', '1ms', '--for', '0s', '--interval', '1s', '--no-flamegraphs', '--format', 'json'];

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // SIGINT goes to the whole group, as Ctrl-C in a terminal does; SIGTERM to the process alone, as `kill` does.
  const send = (pid: number) => (sig === 'SIGINT' ? process.kill(-pid, sig) : process.kill(pid, sig));

  test(`watch: ${sig} while polling between captures → exit 130, a stop line, nothing left running`, async () => {
    const cwd = await tmpDir();
    const run = start(['watch', '--local', '--pid', String(lab.pid), ...CALM, '--duration', '1s', '--baseline-every', '1h', '--no-bpf', '--out-dir', 'out'], cwd);
    await run.stdoutMatch(/"kind":"baseline"/);
    await new Promise((r) => setTimeout(r, 1500)); // a poll or two after the baseline
    send(run.child.pid!);
    const ev = await assertStopped(run);
    assert.equal(ev.filter((e) => e.kind === 'baseline').length, 1);
  });

  test(`watch: ${sig} during a baseline capture → exit 130, no half baseline kept as the baseline`, async () => {
    const cwd = await tmpDir();
    const run = start(['watch', '--local', '--pid', String(lab.pid), ...CALM, '--duration', '30s', '--baseline-every', '1h', '--no-bpf', '--out-dir', 'out'], cwd);
    await run.stderrMatch(/✔ pprof\.heap \(baseline\)/); // the heap is quick; the CPU profile is still running
    send(run.child.pid!);
    const ev = await assertStopped(run);
    assert.deepEqual(ev.filter((e) => e.kind === 'baseline'), [], 'an interrupted baseline is not announced as one');
  });

  test(`watch: ${sig} during a spike capture with tracers running → exit 130, the bundle kept and marked partial`, async (t) => {
    if (!need(t, isRoot, 'root (bpftrace)')) return;
    const cwd = await tmpDir();
    const run = start(['watch', '--local', '--pid', String(lab.pid), ...SPIKE, '--duration', '30s', '--profiles', 'heap', '--out-dir', 'out'], cwd);
    await waitForTracer(run.child.pid!, 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // a few of the staggered tracers are running
    send(run.child.pid!);
    await assertStopped(run);
    const spikes = (await readdir(path.join(cwd, 'out'))).filter((n) => n.startsWith('spike-'));
    assert.equal(spikes.length, 1, spikes.join(', '));
    const m = await manifestOf(path.join(cwd, 'out', spikes[0]));
    assert.equal(m.complete, false);
    assert.match(m.incompleteReason, /interrupted/);
    const bpf = m.collectors.filter((c: Coll) => c.name.startsWith('bpftrace.'));
    assert.ok(bpf.length > 0);
    for (const c of bpf) assert.equal(c.message, 'interrupted', c.name);
  });
}
