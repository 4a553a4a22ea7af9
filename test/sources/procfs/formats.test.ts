import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SleuthError } from '../../../src/errors.js';
import {
  parseCfsQuota, parseCpuMax, parseFlatKeyed, parseInterrupts, parseMemoryLimit, parseNetTcp, parseProcStat, parsePsi,
  parseSchedstat, parseSingleNumber, parseSnmp, parseSoftirqs, TCP_LISTEN,
} from '../../../src/sources/procfs/parse.js';
import { ROOT } from '../../helpers.js';
import { loadSnapshot } from './snapshot.js';

const FIX = path.join(ROOT, 'fixtures', 'procfs');
const snap = (scenario: string, window: 'before' | 'after') => loadSnapshot(path.join(FIX, scenario, window));

test('/proc/stat: USER_HZ ticks become seconds, total and per CPU', async () => {
  const s = parseProcStat((await snap('cfs-throttle-v1', 'before'))['proc/stat']);
  // cpu  623127 0 75053 1266534 1574 0 3427 2663 0 0
  assert.deepEqual(s.total, { user: 6231.27, nice: 0, system: 750.53, idle: 12665.34, iowait: 15.74, irq: 0, softirq: 34.27, steal: 26.63 });
  assert.equal(s.perCpu.length, 2);
  assert.equal(s.perCpu[1]?.user, 3286.64);
});

test('/proc/softirqs: vectors by CPU column', async () => {
  const s = parseSoftirqs((await snap('cfs-throttle-v1', 'before'))['proc/softirqs']);
  assert.equal(s.cpus, 2);
  assert.deepEqual(s.rows.NET_RX, [719137, 732343]);
  assert.deepEqual(Object.keys(s.rows), ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU']);
});

test('/proc/interrupts: device names after the trigger, descriptions for arch rows, ERR as one value', async () => {
  const s = parseInterrupts((await snap('cfs-throttle-v1', 'before'))['proc/interrupts']);
  assert.equal(s.cpus, 2);
  const by = new Map(s.rows.map((r) => [r.irq, r]));
  assert.deepEqual(by.get('41'), { irq: '41', name: 'virtio3-rx', perCpu: [4770, 0] });
  assert.equal(by.get('24')?.name, 'ACPI:Ged');
  assert.deepEqual(by.get('LOC'), { irq: 'LOC', name: 'Local timer interrupts', perCpu: [6588893, 6611021] });
  assert.deepEqual(by.get('ERR')?.perCpu, [0]);
  // GIC style (arm64): trigger is its own token; shared IRQs list several actions.
  const arm = parseInterrupts('  CPU0 CPU1\n 11:  5  6  GICv3  27 Level  arch_timer\n 40: 1 2 IO-APIC 16-fasteoi ehci_hcd:usb1, i801_smbus\n', 'x');
  assert.deepEqual(arm.rows.map((r) => r.name), ['arch_timer', 'ehci_hcd:usb1, i801_smbus']);
});

test('PSI: some/full with total in microseconds', async () => {
  const s = await snap('cfs-throttle-v1', 'before');
  assert.deepEqual(parsePsi(s['proc/pressure/io'], 'proc/pressure/io'), {
    some: { avg10: 0.82, avg60: 1.69, avg300: 0.75, totalUs: 16622832 },
    full: { avg10: 0.01, avg60: 0.16, avg300: 0.16, totalUs: 10976355 },
  });
  assert.equal(parsePsi('some avg10=1.00 avg60=0.00 avg300=0.00 total=7\n', 'old-cpu').full, undefined); // cpu before 5.13
});

test('per-task schedstat: run ns, run-queue wait ns, timeslices', async () => {
  const s = await snap('cfs-throttle-v1', 'before');
  assert.deepEqual(parseSchedstat(s['task/2339/schedstat'], 'task/2339/schedstat'), { runNs: 277622505, waitNs: 947127942, slices: 178 });
});

test('snmp and netstat: header/value pairs become Proto:Name counters', async () => {
  const s = await snap('listen-full', 'after');
  const snmp = parseSnmp(s['pid/net/snmp'], 'pid/net/snmp');
  assert.equal(snmp['Tcp:MaxConn'], -1);
  assert.equal(snmp['Udp:InDatagrams'], 342);
  const ext = parseSnmp(s['pid/net/netstat'], 'pid/net/netstat');
  assert.equal(ext['TcpExt:ListenOverflows'], 21);
  assert.equal(ext['TcpExt:TCPSynRetrans'], 12);
  assert.ok('IpExt:InOctets' in ext);
});

test('/proc/net/tcp LISTEN: rx_queue is the accept queue (backlog 4 holds 5), tx_queue is 0', async () => {
  const rows = parseNetTcp((await snap('listen-full', 'after'))['pid/net/tcp'], 'pid/net/tcp');
  const l = rows.find((r) => r.port === 16120 && r.state === TCP_LISTEN);
  assert.deepEqual(l, { localHex: '0100007F', port: 16120, state: TCP_LISTEN, txQueue: 0, rxQueue: 5, inode: 236885 });
  assert.equal(rows.filter((r) => r.state === 0x02).length, 3, 'the 3 connects that did not fit wait in SYN_SENT');
  const before = parseNetTcp((await snap('listen-full', 'before'))['pid/net/tcp'], 'pid/net/tcp');
  assert.equal(before.find((r) => r.port === 16120)?.rxQueue, 0);
  const v6 = parseNetTcp((await snap('listen-full', 'after'))['pid/net/tcp6'], 'pid/net/tcp6');
  assert.deepEqual(v6.map((r) => [r.port, r.state, r.localHex]), [[16121, TCP_LISTEN, '00000000000000000000000001000000']]);
});

test('cgroup v1: cpu.stat in ns, quota in cores, the unlimited memory limit', async () => {
  const s = await snap('cfs-throttle-v1', 'after');
  assert.deepEqual(parseFlatKeyed(s['cgroup/cpu.stat'], 'cgroup/cpu.stat'), { nr_periods: 45, nr_throttled: 45, throttled_time: 3357735261, nr_bursts: 0, burst_time: 0 });
  assert.equal(parseCfsQuota(s['cgroup/cpu.cfs_quota_us'], s['cgroup/cpu.cfs_period_us']), 0.2);
  assert.equal(parseCfsQuota('-1\n', '100000\n'), undefined);
  assert.equal(parseSingleNumber(s['cgroup/cpuacct.usage'], 'cgroup/cpuacct.usage'), 923452404);
  assert.equal(parseMemoryLimit(s['cgroup/memory.limit_in_bytes'], 'm'), 268435456);
  const root = (await snap('listen-full', 'after'))['cgroup/memory.limit_in_bytes'];
  assert.equal(root.trim(), '9223372036854771712');
  assert.equal(parseMemoryLimit(root, 'm'), undefined);
  assert.equal(parseFlatKeyed(s['cgroup/memory.stat'], 'cgroup/memory.stat').hierarchical_memory_limit, 268435456);
});

test('cgroup v2 (synthetic, kernel doc formats): cpu.max, cpu.stat, memory.max/events', async () => {
  const s = await snap('cgroup-v2-synthetic', 'after');
  assert.deepEqual(parseCpuMax(s['cgroup/cpu.max']), { quotaCores: 0.5, periodUs: 100000 });
  assert.deepEqual(parseCpuMax('max 100000\n'), { periodUs: 100000 });
  assert.deepEqual(parseCpuMax('max 100000 0\n'), { periodUs: 100000 }); // with the proposed $BURST
  assert.equal(parseFlatKeyed(s['cgroup/cpu.stat'], 'cpu.stat').throttled_usec, 11850000);
  assert.equal(parseMemoryLimit('max\n', 'memory.max'), undefined);
  assert.equal(parseMemoryLimit(s['cgroup/memory.max'], 'memory.max'), 536870912);
  assert.equal(parseFlatKeyed(s['cgroup/memory.events'], 'memory.events').oom_kill, 2);
});

const MALFORMED: Array<[string, () => unknown]> = [
  ['proc/stat', () => parseProcStat('intr 1 2 3\n')],
  ['proc/stat', () => parseProcStat('cpu 1 2 x 4 5 6 7 8\n')],
  ['proc/softirqs', () => parseSoftirqs('HI: 0 0\n')],
  ['proc/interrupts', () => parseInterrupts('  CPU0\n 24: ACPI\n')],
  ['proc/pressure/cpu', () => parsePsi('full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'proc/pressure/cpu')],
  ['proc/pressure/io', () => parsePsi('<html>', 'proc/pressure/io')],
  ['task/7/schedstat', () => parseSchedstat('1 2\n', 'task/7/schedstat')],
  ['pid/net/snmp', () => parseSnmp('Tcp: A B\nTcp: 1\n', 'pid/net/snmp')],
  ['pid/net/netstat', () => parseSnmp('TcpExt: A\n', 'pid/net/netstat')],
  ['pid/net/tcp', () => parseNetTcp('  sl  local_address\n 0: nonsense\n', 'pid/net/tcp')],
  ['pid/net/tcp6', () => parseNetTcp('', 'pid/net/tcp6')],
  ['cgroup/cpu.stat', () => parseFlatKeyed('nr_periods twelve\n', 'cgroup/cpu.stat')],
  ['cgroup/cpu.max', () => parseCpuMax('50000\n')],
  ['cgroup/cpu.cfs_period_us', () => parseCfsQuota('20000', '0')],
  ['cgroup/memory.max', () => parseMemoryLimit('unlimited', 'cgroup/memory.max')],
];

for (const [file, fn] of MALFORMED) {
  test(`malformed ${file} → an input error naming it`, () => {
    assert.throws(fn, (e: unknown) => e instanceof SleuthError && e.kind === 'input' && e.message.startsWith(`${file}: `));
  });
}
