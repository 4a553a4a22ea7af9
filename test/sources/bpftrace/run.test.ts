import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BpftraceError, bpftraceAvailable, cleanStderr, execaExec, runBpftrace, type Exec, type ExecOutcome } from '../../../src/sources/bpftrace/run.js';
import { SCRIPTS, missingProbes, scriptFile, scriptInvocation } from '../../../src/sources/bpftrace/scripts.js';
import { histTotal, mapEntries, parseBpftrace } from '../../../src/sources/bpftrace/parse.js';
import { SleuthError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers.js';

const RLIMIT = 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem\n';

/** An Exec that records its call and answers `outcome`. */
function fakeExec(outcome: Partial<ExecOutcome>) {
  const calls: Array<{ file: string; args: string[]; timeoutMs: number }> = [];
  const exec: Exec = async (file, args, opts) => {
    calls.push({ file, args, timeoutMs: opts.timeoutMs });
    return { stdout: '', stderr: '', exitCode: 0, timedOut: false, canceled: false, ...outcome };
  };
  return { exec, calls };
}

async function failure(p: Promise<unknown>): Promise<BpftraceError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BpftraceError, `expected a BpftraceError, got ${String(err)}`);
  assert.ok(err instanceof SleuthError);
  return err;
}

// ---- without bpftrace: argv, timeouts and classification ----

test('argv: script path and positional args; -f json; a command prefix with the program inline', async () => {
  const inv = scriptInvocation('runqlat', { tgid: 42, seconds: 3 });
  const a = fakeExec({ stdout: 'Attaching 5 probes...\n' });
  const r = await runBpftrace({ ...inv, format: 'text', exec: a.exec });
  assert.deepEqual(a.calls, [{ file: 'bpftrace', args: [scriptFile('runqlat'), '42', '3'], timeoutMs: 8000 }]);
  assert.equal(r.stdout, 'Attaching 5 probes...\n');

  const b = fakeExec({});
  await runBpftrace({ ...inv, format: 'json', bpftrace: '/opt/bt/bpftrace', startupMarginMs: 2000, exec: b.exec });
  assert.deepEqual(b.calls[0], { file: '/opt/bt/bpftrace', args: ['-f', 'json', scriptFile('runqlat'), '42', '3'], timeoutMs: 5000 });

  const c = fakeExec({});
  const command = { file: 'kubectl', prefixArgs: ['exec', 'pod-1', '--', 'bpftrace'], inlineScript: true };
  await runBpftrace({ ...inv, format: 'json', command, exec: c.exec });
  assert.deepEqual(c.calls[0].args, ['exec', 'pod-1', '--', 'bpftrace', '-f', 'json', '-e', await readFile(scriptFile('runqlat'), 'utf8'), '42', '3']);
  assert.equal(c.calls[0].file, 'kubectl');
});

test('failures are classified from what bpftrace 0.17 prints', async () => {
  const inv = { ...scriptInvocation('runqlat', { tgid: 0, seconds: 1 }), format: 'text' as const };
  const cases: Array<[Partial<ExecOutcome>, string, string]> = [
    [{ exitCode: undefined, spawnErrorCode: 'ENOENT' }, 'not-installed', 'unavailable'],
    [{ exitCode: 1, stderr: 'ERROR: bpftrace currently only supports running as the root user.\n' }, 'permission', 'unavailable'],
    [{ exitCode: 1, stderr: RLIMIT + 'x.bt:1:1-24: ERROR: tracepoint not found: sched:nosuch\n' }, 'probe-missing', 'unavailable'],
    [{ exitCode: 1, stderr: "gc.bt:1:1-26: ERROR: uprobe target file '/proc/9/exe' does not exist or is not executable\n" }, 'probe-missing', 'unavailable'],
    [{ exitCode: 255, stderr: "create_probe_event: open(/sys/kernel/debug/tracing/kprobe_events): No such file or directory\nERROR: Error attaching probe: 'kprobe:do_sys_open'\n" }, 'attach-failed', 'unavailable'],
    [{ exitCode: 1, stderr: "ERROR: failed to open file '/x.bt': No such file or directory\n" }, 'failed', 'unavailable'],
    [{ exitCode: 1, stderr: 'bad.bt:2:1-1: ERROR: syntax error, unexpected end of file, expecting }\n' }, 'failed', 'unavailable'],
    [{ exitCode: undefined, timedOut: true, signal: 'SIGTERM' }, 'timeout', 'unavailable'],
    [{ exitCode: undefined, canceled: true, signal: 'SIGTERM' }, 'aborted', 'interrupted'],
  ];
  for (const [outcome, reason, kind] of cases) {
    const err = await failure(runBpftrace({ ...inv, exec: fakeExec(outcome).exec }));
    assert.equal(err.reason, reason, JSON.stringify(outcome));
    assert.equal(err.kind, kind);
    assert.match(err.message, /^bpftrace runqlat\.bt/);
    assert.doesNotMatch(err.stderr, /RLIMIT_MEMLOCK/);
  }
  const syntax = await failure(runBpftrace({ ...inv, exec: fakeExec({ exitCode: 1, stderr: RLIMIT + 'bad.bt:2:1-1: ERROR: syntax error\n' }).exec }));
  assert.match(syntax.message, /syntax error/, 'the message quotes bpftrace');
});

test('success keeps stderr without the RLIMIT_MEMLOCK noise; an aborted signal never starts bpftrace', async () => {
  const inv = { ...scriptInvocation('biolatency', { seconds: 1 }), format: 'text' as const };
  const r = await runBpftrace({ ...inv, exec: fakeExec({ stdout: '@x: 1\n', stderr: RLIMIT + 'WARNING: something\n' }).exec });
  assert.equal(r.stderr, 'WARNING: something');
  assert.equal(cleanStderr(RLIMIT), '');
  const ac = new AbortController();
  ac.abort();
  const f = fakeExec({});
  const err = await failure(runBpftrace({ ...inv, signal: ac.signal, exec: f.exec }));
  assert.equal(err.kind, 'interrupted');
  assert.equal(f.calls.length, 0);
});

test('execaExec reports a missing binary as ENOENT; bpftraceAvailable says why it cannot run', async () => {
  const r = await execaExec('/nonexistent/p99sleuth-bpftrace', ['--version'], { timeoutMs: 5000 });
  assert.equal(r.spawnErrorCode, 'ENOENT');
  const err = await failure(runBpftrace({ ...scriptInvocation('biolatency', { seconds: 1 }), format: 'text', bpftrace: '/nonexistent/p99sleuth-bpftrace' }));
  assert.equal(err.reason, 'not-installed');
  const a = await bpftraceAvailable({ bpftrace: '/nonexistent/p99sleuth-bpftrace' });
  assert.deepEqual(a, { ok: false, reason: '/nonexistent/p99sleuth-bpftrace is not installed or not on PATH' });
  const v = await bpftraceAvailable({ exec: fakeExec({ stdout: 'bpftrace v0.17.0\n' }).exec, command: { file: 'kubectl', prefixArgs: ['exec', 'p', '--', 'bpftrace'] } });
  assert.deepEqual(v, { ok: true, version: 'bpftrace v0.17.0' });
});

// ---- with bpftrace (root): real runs ----

/** Why real runs cannot happen here; under CI=true that is a failure, not a skip. */
async function realRunBlocked(t: TestContext): Promise<boolean> {
  const a = await bpftraceAvailable();
  if (a.ok) return false;
  if (process.env.CI === 'true') assert.fail(`CI=true requires a working bpftrace: ${a.reason}`);
  t.skip(`bpftrace cannot run here: ${a.reason}`);
  return true;
}

/** A node child running `code` for at most 30 s; stopped by PID. */
function target(code: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', `${code}; setTimeout(() => process.exit(0), 30000);`], { stdio: 'ignore' });
  assert.ok(child.pid, 'target started');
  return child;
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

test('real: runqlat.bt (text) sees the run-queue waits of a process that keeps waking up', async (t) => {
  if (await realRunBlocked(t)) return;
  const child = target('setInterval(() => { const t = Date.now(); while (Date.now() - t < 2); }, 3)');
  try {
    const r = await runBpftrace({ ...scriptInvocation('runqlat', { tgid: child.pid!, seconds: 1 }), format: 'text' });
    const out = parseBpftrace(r.stdout, 'runqlat.bt');
    assert.equal(missingProbes('runqlat', out), undefined);
    assert.ok(out.attachedProbes! >= SCRIPTS.runqlat.probes);
    const [h] = mapEntries(out.maps['@runq_us'], 'hist');
    const [s] = mapEntries(out.maps['@runq_stats'], 'stats');
    assert.ok(s.count > 10, `run-queue events of the target: ${s.count}`);
    assert.equal(histTotal(h.buckets), s.count);
    assert.ok(r.durationMs >= 1000 && r.durationMs < 8000, `${r.durationMs} ms`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('real: syscalls.bt (JSON) times the fsync and write calls of a process', async (t) => {
  if (await realRunBlocked(t)) return;
  const file = path.join(await tmpDir(), 'sync.dat');
  const child = target(`const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(file)}, 'w'); const b = Buffer.alloc(4096); setInterval(() => { fs.writeSync(fd, b); fs.fsyncSync(fd); }, 5)`);
  try {
    const r = await runBpftrace({ ...scriptInvocation('syscalls', { tgid: child.pid!, seconds: 2 }), format: 'json' });
    const out = parseBpftrace(r.stdout, 'syscalls.bt');
    const counts = Object.fromEntries(mapEntries(out.maps['@sync_stats'], 'stats').map((e) => [e.key[0], e.count]));
    assert.ok(counts.fsync > 10, `fsyncs seen: ${counts.fsync}`);
    assert.ok(counts.write >= counts.fsync - 2, `writes seen: ${counts.write}`);
    const fsync = mapEntries(out.maps['@sync_us'], 'hist').find((e) => e.key[0] === 'fsync')!;
    assert.equal(histTotal(fsync.buckets), counts.fsync);
  } finally {
    child.kill('SIGKILL');
  }
});

test('real: a tracepoint this kernel lacks gives a probe-missing error', async (t) => {
  if (await realRunBlocked(t)) return;
  const script = path.join(await tmpDir(), 'missing.bt');
  await writeFile(script, 'tracepoint:sched:p99sleuth_no_such_tracepoint { @x = count(); }\ninterval:s:$1 { exit(); }\n');
  const err = await failure(runBpftrace({ script, args: ['1'], seconds: 1, format: 'text' }));
  assert.equal(err.reason, 'probe-missing');
  assert.equal(err.kind, 'unavailable');
  assert.match(err.message, /tracepoint not found: sched:p99sleuth_no_such_tracepoint/);
});

test('real: aborting mid-run kills bpftrace', async (t) => {
  if (await realRunBlocked(t)) return;
  const ac = new AbortController();
  let pid = 0;
  const started = Date.now();
  const run = runBpftrace({ ...scriptInvocation('runqlat', { tgid: 0, seconds: 60 }), format: 'text', signal: ac.signal, onSpawn: (p) => (pid = p) });
  setTimeout(() => ac.abort(), 2000);
  const err = await failure(run);
  assert.equal(err.reason, 'aborted');
  assert.equal(err.kind, 'interrupted');
  assert.ok(pid > 0, 'the child pid was reported');
  assert.ok(gone(pid), `bpftrace ${pid} is gone`);
  assert.ok(Date.now() - started < 10_000, 'stopped long before its 60 s');
});

test('real: a script that overruns its time is killed and reported as a timeout', async (t) => {
  if (await realRunBlocked(t)) return;
  const script = path.join(await tmpDir(), 'slow.bt');
  await writeFile(script, 'interval:s:30 { exit(); }\n');
  let pid = 0;
  const err = await failure(runBpftrace({ script, args: [], seconds: 1, startupMarginMs: 1000, format: 'text', onSpawn: (p) => (pid = p) }));
  assert.equal(err.reason, 'timeout');
  assert.ok(gone(pid), `bpftrace ${pid} is gone`);
});
