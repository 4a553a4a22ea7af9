import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { hexAddress, kernelDelta } from '../../../src/sources/procfs/parse.js';
import { SleuthError } from '../../../src/errors.js';
import { ROOT } from '../../helpers.js';
import { matchGolden } from '../../golden.js';
import { loadSnapshot, windowSeconds } from './snapshot.js';

const FIX = path.join(ROOT, 'fixtures', 'procfs');
const GOLDEN = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden');

async function scenario(name: string) {
  const dir = path.join(FIX, name);
  const before = await loadSnapshot(path.join(dir, 'before'));
  const after = await loadSnapshot(path.join(dir, 'after'));
  return { before, after, seconds: await windowSeconds(dir) };
}

for (const name of ['cfs-throttle-v1', 'listen-full', 'cgroup-v2-synthetic']) {
  test(`kernelDelta ${name}: matches its golden JSON`, async () => {
    const s = await scenario(name);
    await matchGolden(path.join(GOLDEN, `${name}.json`), JSON.stringify(kernelDelta(s.before, s.after, s.seconds), null, 1) + '\n');
  });
}

test('cgroup v1 throttling: 0.2 cores, every period throttled, CPU used ≈ quota × window', async () => {
  const s = await scenario('cfs-throttle-v1');
  const k = kernelDelta(s.before, s.after, s.seconds);
  const cg = k.cgroup!;
  assert.equal(cg.version, 1);
  assert.equal(cg.path, '/p99sleuth-fixture');
  assert.equal(cg.paths?.memory, '/process_api/ebfa7c6f12eefff60da5bfc288838fe5/p99sleuth-fixture');
  assert.equal(cg.quotaCores, 0.2);
  assert.equal(cg.periods, 33);
  assert.equal(cg.throttledPeriods, 33);
  assert.equal(cg.throttledSeconds, 2.436367121);
  assert.equal(cg.usageSeconds, 0.664209958);
  assert.ok(Math.abs(cg.usageSeconds! - 0.2 * s.seconds) < 0.02, 'the quota is what it got');
  assert.equal(cg.memoryLimitBytes, 268435456);
  assert.equal(cg.memoryFailcnt, 0);
  assert.equal(cg.psi, undefined, 'hybrid at the unified root: no per-cgroup PSI read');
  // The busy thread: on-CPU time equals the cgroup's; its "run-queue wait" includes the throttled time.
  assert.deepEqual(k.threads, { count: 7, runSeconds: 0.664209958, runqueueWaitSeconds: 2.651683861, timeslices: 875 });
  assert.ok(k.threads!.runqueueWaitSeconds > cg.throttledSeconds!);
  assert.equal(k.cpus, 2);
  assert.deepEqual(k.cpuModes, { user: 3.87, nice: 0, system: 0.71, idle: 1.9, iowait: 0.01, irq: 0, softirq: 0.01, steal: 0 });
  const all = Object.values(k.cpuModes).reduce((a, b) => a + b, 0);
  // Within 5%: the window is timed around the reads, /proc/stat advances in 10 ms ticks.
  assert.ok(Math.abs(all / (k.cpus * s.seconds) - 1) < 0.05, `CPU-seconds ${all} ≈ 2 CPUs × ${s.seconds} s`);
  assert.equal(k.psi.cpu?.someSeconds, 2.172776);
  assert.equal(k.psi.cpu?.fullSeconds, undefined, 'system-wide cpu "full" is meaningless');
  assert.equal(k.psi.io?.fullSeconds, 0.003247);
  assert.deepEqual(k.softirqs.NET_RX, { total: 959, perCpu: [385, 574] });
  assert.deepEqual(k.interrupts.find((i) => i.name === 'virtio3-rx'), { irq: '41', name: 'virtio3-rx', total: 6, perCpu: [6, 0] });
  assert.deepEqual(k.interrupts.find((i) => i.irq === 'ERR'), { irq: 'ERR', name: '', total: 0, perCpu: [] });
});

test('listen-full: the accept queue of the backlog-4 listener is full and the overflows are counted', async () => {
  const s = await scenario('listen-full');
  const k = kernelDelta(s.before, s.after, s.seconds);
  assert.deepEqual(k.listen.find((l) => l.port === 16120), { port: 16120, queued: 5, address: '127.0.0.1', family: 4 });
  assert.deepEqual(k.listen.find((l) => l.port === 16121), { port: 16121, queued: 0, address: '::1', family: 6 });
  assert.equal(k.tcp['TcpExt:ListenOverflows'], 9);
  assert.equal(k.tcp['TcpExt:ListenDrops'], 9);
  assert.equal(k.tcp['TcpExt:TCPSynRetrans'], 6);
  assert.equal(k.tcp['Tcp:RetransSegs'], 6);
  assert.equal(k.tcp['Tcp:CurrEstab'], undefined, 'gauges are not deltas');
  assert.ok(k.gaps.some((g) => g.startsWith('listen backlog limits unknown')));
});

test('cgroup v2 (synthetic): quota, throttling, memory events and per-cgroup PSI', async () => {
  const s = await scenario('cgroup-v2-synthetic');
  const cg = kernelDelta(s.before, s.after, s.seconds).cgroup!;
  assert.equal(cg.version, 2);
  assert.equal(cg.path, '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1f2e3d4c.slice/cri-containerd-0a1b2c3d.scope');
  assert.deepEqual(
    { q: cg.quotaCores, p: cg.periods, t: cg.throttledPeriods, ts: cg.throttledSeconds, u: cg.usageSeconds, lim: cg.memoryLimitBytes, use: cg.memoryUsageBytes },
    { q: 0.5, p: 100, t: 42, ts: 2.73, u: 4.95, lim: 536870912, use: 531234816 },
  );
  assert.deepEqual(cg.memoryEvents, { low: 0, high: 0, max: 12, oom: 1, oom_kill: 1, oom_group_kill: 0 });
  const cpu = cg.psi?.cpu;
  assert.deepEqual([cpu?.someSeconds, cpu?.fullSeconds, cpu?.fullFraction], [3.4, 3, 0.3]);
  assert.ok(Math.abs(cpu!.someFraction - 0.34) < 1e-12);
  assert.equal(cg.memoryFailcnt, undefined);
});

test('absent files: fields left out, one gap each, no crash', async () => {
  const k = kernelDelta({}, {}, 5);
  assert.equal(k.cpus, 0);
  assert.deepEqual(k.cpuModesPerCpu, []);
  assert.deepEqual(k.psi, {});
  assert.deepEqual([k.cgroup, k.threads], [undefined, undefined]);
  assert.deepEqual([k.softirqs, k.interrupts, k.tcp, k.listen], [{}, [], {}, []]);
  for (const key of ['proc/stat', 'proc/pressure/cpu', 'proc/softirqs', 'proc/interrupts', 'pid/net/snmp', 'pid/net/tcp', 'task/<tid>/schedstat', 'cgroup/_info']) {
    assert.ok(k.gaps.some((g) => g.startsWith(`${key} absent`)), `gap for ${key}: ${k.gaps.join(' | ')}`);
  }
  // A file in one snapshot only says which one.
  const s = await scenario('cfs-throttle-v1');
  const { ['proc/softirqs']: _gone, ...after } = s.after;
  const k2 = kernelDelta(s.before, after, s.seconds);
  assert.deepEqual(k2.softirqs, {});
  assert.ok(k2.gaps.includes('proc/softirqs is missing from the after snapshot'));
  assert.equal(k2.cpus, 2, 'other sections unaffected');
});

test('malformed file: its field is left out with the parse error as a gap', async () => {
  const s = await scenario('cfs-throttle-v1');
  const k = kernelDelta(s.before, { ...s.after, 'cgroup/cpu.stat': 'nr_periods lots\n', 'proc/pressure/io': '<html>' }, s.seconds);
  assert.equal(k.cgroup?.throttledPeriods, undefined);
  assert.equal(k.cgroup?.quotaCores, 0.2, 'the rest of the cgroup survives');
  assert.equal(k.psi.io, undefined);
  assert.ok(k.gaps.some((g) => g.startsWith('cgroup/cpu.stat: not a "key value" line')));
  assert.ok(k.gaps.some((g) => g.startsWith('proc/pressure/io: not a PSI line')));
});

test('counters going backwards (reset, reused TID, rebooted) never give negative deltas', async () => {
  const s = await scenario('cfs-throttle-v1');
  // Swap before and after: every counter goes backwards.
  const k = kernelDelta(s.after, s.before, s.seconds);
  const numbers = JSON.stringify(k).match(/-?\d+(\.\d+)?(e-?\d+)?/g)!.map(Number);
  assert.ok(numbers.every((n) => n >= 0), 'no negative number anywhere');
  assert.equal(k.cgroup?.throttledPeriods, 0);
  assert.equal(k.threads?.runSeconds, 0);
  assert.equal(k.softirqs.NET_RX.total, 0);
  assert.equal(k.tcp['Tcp:InSegs'], 0);
  assert.equal(k.psi.cpu?.someSeconds, 0);
  // One thread reset, one thread gone, one new: only the common ones count, reset ones as 0.
  const before = { 'task/1/schedstat': '500 500 5\n', 'task/2/schedstat': '100 100 1\n', 'task/3/schedstat': '9 9 9\n' };
  const after = { 'task/1/schedstat': '10 10 1\n', 'task/2/schedstat': '300 200 3\n', 'task/4/schedstat': '7 7 7\n' };
  const t = kernelDelta(before, after, 1);
  assert.deepEqual(t.threads, { count: 2, runSeconds: 200e-9, runqueueWaitSeconds: 100e-9, timeslices: 2 });
  assert.ok(t.gaps.includes('threads: 1 started and 1 ended during the window; their time is not counted'));
});

test('PSI fractions are capped at 1 and the window must be positive', () => {
  const psi = (us: number) => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${us}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${us}\n`;
  const k = kernelDelta({ 'proc/pressure/memory': psi(0) }, { 'proc/pressure/memory': psi(3_000_000) }, 2);
  assert.deepEqual(k.psi.memory, { someSeconds: 3, someFraction: 1, fullSeconds: 3, fullFraction: 1 });
  for (const bad of [0, -1, NaN, Infinity]) assert.throws(() => kernelDelta({}, {}, bad), (e: unknown) => e instanceof SleuthError && e.kind === 'internal');
});

test('hexAddress: /proc/net/tcp words in host (little-endian) order', () => {
  assert.equal(hexAddress('0100007F'), '127.0.0.1');
  assert.equal(hexAddress('00000000'), '0.0.0.0');
  assert.equal(hexAddress('00000000000000000000000001000000'), '::1');
  assert.equal(hexAddress('00000000000000000000000000000000'), '::');
  assert.equal(hexAddress('B80D0120000000000000000001000000'), '2001:db8::1');
});
