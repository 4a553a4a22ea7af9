import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { kernelFileNames, localReader, readProcfs, type FileReader } from '../../../src/sources/procfs/capture.js';
import { kernelDelta, parseCgroupInfo } from '../../../src/sources/procfs/parse.js';
import { SleuthError } from '../../../src/errors.js';
import { SAFE_KEY } from './snapshot.js';

const NAMES = new Set(kernelFileNames());
const named = (key: string) => NAMES.has(key.replace(/^task\/\d+\//, 'task/<tid>/'));

test('pid validation: only positive safe integers, checked before any read', async () => {
  const reads: string[] = [];
  const spy: FileReader = { read: async (p) => (reads.push(p), undefined), list: async (d) => (reads.push(d), []) };
  for (const pid of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '1/../2' as unknown as number]) {
    await assert.rejects(readProcfs(pid, spy), (e: unknown) => e instanceof SleuthError && e.kind === 'usage', String(pid));
  }
  assert.deepEqual(reads, []);
});

test('kernelFileNames: safe relative keys', () => {
  for (const k of NAMES) assert.match(k.replace('<tid>', '1'), SAFE_KEY, k);
  for (const k of ['proc/stat', 'pid/net/tcp6', 'task/<tid>/schedstat', 'cgroup/_info', 'cgroup/cpu.cfs_quota_us', 'cgroup/cpu.max', 'cgroup/memory.events']) assert.ok(NAMES.has(k), k);
});

test('live: this test process — system, process, thread and cgroup files', async () => {
  const s = await readProcfs(process.pid, localReader());
  for (const k of ['proc/stat', 'proc/softirqs', 'proc/interrupts', 'pid/cgroup', 'pid/status', 'pid/net/snmp', 'pid/net/netstat', 'pid/net/tcp', `task/${process.pid}/schedstat`, 'cgroup/_info']) {
    assert.ok(k in s, `${k} captured`);
  }
  for (const k of Object.keys(s)) {
    assert.match(k, SAFE_KEY);
    assert.ok(named(k), `${k} is listed by kernelFileNames()`);
  }
  assert.match(s['pid/status'], new RegExp(`^Pid:\\s+${process.pid}$`, 'm'));
  const info = parseCgroupInfo(s['cgroup/_info']);
  // This lab VM is cgroup v1 (hybrid); users' nodes are mostly v2: each has its cpu.stat.
  assert.ok(info.version === 1 ? 'cgroup/cpu.cfs_quota_us' in s : 'cgroup/cpu.stat' in s, s['cgroup/_info']);
});

test('live: a busy child captured twice gives sane deltas, and nothing of it once it is gone', async () => {
  // Ends itself after 10 s if the test dies; killed by PID below.
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end);'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    await sleep(200);
    const t0 = performance.now();
    const before = await readProcfs(pid, localReader());
    await sleep(600);
    const t1 = performance.now();
    const after = await readProcfs(pid, localReader());
    const seconds = (t1 - t0) / 1000;
    const k = kernelDelta(before, after, seconds);

    assert.ok(k.threads && k.threads.count >= 1, 'threads present in both');
    assert.ok(k.threads.runSeconds > 0.05 && k.threads.runSeconds <= seconds * k.cpus + 0.05, `busy child ran ${k.threads.runSeconds} s in ${seconds} s`);
    assert.ok(k.threads.timeslices > 0);
    const cpuSeconds = Object.values(k.cpuModes).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(cpuSeconds / (k.cpus * seconds) - 1) < 0.25, `CPU-seconds ${cpuSeconds} over ${k.cpus} CPUs in ${seconds} s`);
    assert.ok(k.cpuModes.user > 0.05);
    for (const p of [k.psi.cpu, k.psi.io, k.psi.memory]) if (p) assert.ok(p.someFraction >= 0 && p.someFraction <= 1);
    assert.ok('Tcp:InSegs' in k.tcp && 'TcpExt:ListenOverflows' in k.tcp);
    assert.ok(k.interrupts.some((i) => i.irq === 'LOC' && i.total > 0), 'timer interrupts ticked');
    assert.ok(k.cgroup && k.cgroup.path.startsWith('/'));
    assert.ok(JSON.stringify(k).match(/-\d/) === null, 'no negative values');
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited; // reaped: its /proc entry is gone
    }
  }
  const gone = await readProcfs(child.pid!, localReader());
  assert.ok('proc/stat' in gone, 'system files still read');
  assert.deepEqual(Object.keys(gone).filter((k) => !k.startsWith('proc/')), [], 'nothing of an exited process');
});
