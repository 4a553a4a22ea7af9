/**
 * What the kernel says happened during a window: kernelDelta turns two readProcfs snapshots into
 * typed deltas for the analysis. Pure. A file that is absent or unparsable leaves its field out and
 * adds a plain-words line to `gaps`; counters that went backwards (reset, thread gone) count as 0.
 * The per-format parsers live in formats.ts and cgroup.ts and are re-exported here; window.ts holds
 * the two-snapshot helpers and cgroup-delta.ts the cgroup section.
 */
import { SleuthError } from '../../errors.js';
import { cgroupDelta } from './cgroup-delta.js';
import { CPU_MODES, TCP_LISTEN, USER_HZ, parseInterrupts, parseNetTcp, parseProcStat, parseSchedstat, parseSnmp, parseSoftirqs, zeroModes, type CpuModes } from './formats.js';
import { both, d, psiSet, safe, sum, type Ctx, type Snapshot } from './window.js';

export * from './formats.js';
export { parseCgroupInfo, parseMountinfo, parseProcCgroup } from './cgroup.js';

/** Stall time over the window, and as a fraction of it. */
export interface PsiDelta { someSeconds: number; fullSeconds?: number; someFraction: number; fullFraction?: number }
export interface PsiSet { cpu?: PsiDelta; io?: PsiDelta; memory?: PsiDelta }

export interface CgroupDelta {
  version: 1 | 2;
  /** The cgroup of the cpu controller (v1) or of the v2 hierarchy. */
  path: string;
  /** v1: path per controller (cpu, cpuacct, memory and a hybrid's `unified`), which may differ. */
  paths?: Record<string, string>;
  /** Cores the CFS quota allows; undefined = no quota. */
  quotaCores?: number;
  periods?: number;
  throttledPeriods?: number;
  throttledSeconds?: number;
  usageSeconds?: number;
  memoryLimitBytes?: number;
  memoryUsageBytes?: number;
  /** v1: times usage hit the limit in the window. */
  memoryFailcnt?: number;
  /** v2: memory.events deltas (low, high, max, oom, oom_kill…). */
  memoryEvents?: Record<string, number>;
  /** Per-cgroup PSI (v2, or the v2 hierarchy of a hybrid system). */
  psi?: PsiSet;
}

export interface ListenSocket {
  port: number;
  /** Connections waiting in the accept queue at the end of the window (rx_queue of a LISTEN row). */
  queued: number;
  /** The accept-queue limit. /proc/net/tcp does not show it (its tx_queue is 0 for LISTEN); only inet_diag (`ss -lnt`) does. */
  backlog?: number;
  address: string;
  family: 4 | 6;
}

export interface KernelDelta {
  /** Window length. */
  seconds: number;
  cpus: number;
  /** CPU-seconds over all CPUs in the window. */
  cpuModes: CpuModes;
  cpuModesPerCpu: CpuModes[];
  /** System-wide /proc/pressure. */
  psi: PsiSet;
  cgroup?: CgroupDelta;
  /** Summed deltas over the threads present before and after. */
  threads?: { count: number; runSeconds: number; runqueueWaitSeconds: number; timeslices: number };
  /** Counts in the window by vector name (NET_RX…). */
  softirqs: Record<string, { total: number; perCpu: number[] }>;
  /** Counts in the window; ERR and MIS are system-wide and have an empty perCpu. */
  interrupts: Array<{ irq: string; name: string; total: number; perCpu: number[] }>;
  /** Deltas of every Tcp:/TcpExt:/Udp: counter of the process's network namespace ('Tcp:RetransSegs'). */
  tcp: Record<string, number>;
  /** LISTEN sockets of the process's network namespace at the end of the window. */
  listen: ListenSocket[];
  /** What could not be computed and why, in plain words. */
  gaps: string[];
}

/** Kernel deltas between two readProcfs snapshots taken `seconds` apart. */
export function kernelDelta(before: Snapshot, after: Snapshot, seconds: number): KernelDelta {
  if (!(seconds > 0 && Number.isFinite(seconds))) throw new SleuthError('internal', `kernelDelta: window of ${seconds} s`);
  const c: Ctx = { before, after, seconds, gaps: [] };
  const cpu = cpuDelta(c);
  const out: KernelDelta = {
    seconds,
    cpus: cpu?.cpus ?? cpusFromSoftirqs(after),
    cpuModes: cpu?.modes ?? zeroModes(),
    cpuModesPerCpu: cpu?.perCpu ?? [],
    psi: psiSet(c, (r) => `proc/pressure/${r}`, 'the kernel has no PSI (CONFIG_PSI, psi=1 on the kernel command line)', true),
    softirqs: softirqDelta(c),
    interrupts: interruptDelta(c),
    tcp: tcpDelta(c),
    listen: listenSockets(c),
    gaps: c.gaps,
  };
  const cg = cgroupDelta(c);
  if (cg) out.cgroup = cg;
  const th = threadDelta(c);
  if (th) out.threads = th;
  return out;
}

function cpusFromSoftirqs(s: Snapshot): number {
  try {
    return s['proc/softirqs'] === undefined ? 0 : parseSoftirqs(s['proc/softirqs']).cpus;
  } catch (err) {
    if (err instanceof SleuthError) return 0; // already a gap from softirqDelta
    throw err;
  }
}

function modesDelta(a: CpuModes, b: CpuModes): CpuModes {
  const out = zeroModes();
  // Whole ticks: the difference of two large tick/100 values carries float noise otherwise.
  for (const k of CPU_MODES) out[k] = Math.round(d(a[k], b[k]) * USER_HZ) / USER_HZ;
  return out;
}

function cpuDelta(c: Ctx) {
  const p = both(c, 'proc/stat', parseProcStat, 'CPU time by mode unknown');
  if (!p) return undefined;
  const [b, a] = p;
  const perCpu: CpuModes[] = [];
  for (let i = 0; i < Math.max(a.perCpu.length, b.perCpu.length); i++) {
    const [x, y] = [a.perCpu[i], b.perCpu[i]];
    if (x && y) perCpu.push(modesDelta(x, y));
    else {
      perCpu.push(zeroModes());
      c.gaps.push(`proc/stat: cpu${i} is not in both snapshots (CPU hotplug); its per-CPU time is shown as 0`);
    }
  }
  return { cpus: a.perCpu.filter(Boolean).length, modes: modesDelta(a.total, b.total), perCpu };
}

function softirqDelta(c: Ctx): KernelDelta['softirqs'] {
  const p = both(c, 'proc/softirqs', parseSoftirqs, 'softirq counts unknown');
  const out: KernelDelta['softirqs'] = {};
  if (!p) return out;
  for (const [name, after] of Object.entries(p[1].rows)) {
    const perCpu = after.map((v, i) => d(v, p[0].rows[name]?.[i] ?? 0));
    out[name] = { total: sum(perCpu), perCpu };
  }
  return out;
}

function interruptDelta(c: Ctx): KernelDelta['interrupts'] {
  const p = both(c, 'proc/interrupts', parseInterrupts, 'interrupt counts unknown');
  if (!p) return [];
  const before = new Map(p[0].rows.map((r) => [r.irq, r]));
  return p[1].rows.map((r) => {
    // An IRQ registered during the window counts from 0.
    const deltas = r.perCpu.map((v, i) => d(v, before.get(r.irq)?.perCpu[i] ?? 0));
    const global = r.perCpu.length === 1 && p[1].cpus > 1;
    return { irq: r.irq, name: r.name, total: sum(deltas), perCpu: global ? [] : deltas };
  });
}

// Tcp: fields that are settings or gauges, not counters.
const NOT_COUNTERS = new Set(['Tcp:RtoAlgorithm', 'Tcp:RtoMin', 'Tcp:RtoMax', 'Tcp:MaxConn', 'Tcp:CurrEstab']);

function tcpDelta(c: Ctx): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of ['pid/net/snmp', 'pid/net/netstat']) {
    const p = both(c, key, parseSnmp, 'TCP counters of the process\'s network namespace unknown (process gone or unreadable)');
    if (!p) continue;
    for (const [name, v] of Object.entries(p[1])) {
      if (!/^(Tcp|TcpExt|Udp):/.test(name) || NOT_COUNTERS.has(name) || p[0][name] === undefined) continue;
      out[name] = d(v, p[0][name]);
    }
  }
  return out;
}

function listenSockets(c: Ctx): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const [key, family] of [['pid/net/tcp', 4], ['pid/net/tcp6', 6]] as const) {
    const text = c.after[key];
    if (text === undefined) {
      c.gaps.push(`${key} absent${c.before[key] === undefined ? '' : ' from the after snapshot'}: listen queues unknown`);
      continue;
    }
    for (const r of safe(c, key, text, parseNetTcp) ?? []) {
      if (r.state === TCP_LISTEN) out.push({ port: r.port, queued: r.rxQueue, address: hexAddress(r.localHex), family });
    }
  }
  // Only worth saying when a queue is non-empty, i.e. when the limit would matter.
  if (out.some((l) => l.queued > 0)) c.gaps.push('listen backlog limits unknown: /proc/net/tcp does not show them (compare queued with TcpExt:ListenOverflows)');
  return out;
}

/** /proc/net/tcp prints each 32-bit word of the address in host order (little-endian assumed, as on x86 and arm64). */
export function hexAddress(hex: string): string {
  const bytes = (hex.match(/.{8}/g) ?? []).flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function threadDelta(c: Ctx): KernelDelta['threads'] | undefined {
  const tids = (s: Snapshot) => new Set(Object.keys(s).flatMap((k) => /^task\/(\d+)\/schedstat$/.exec(k)?.[1] ?? []));
  const [b, a] = [tids(c.before), tids(c.after)];
  if (b.size === 0 || a.size === 0) {
    c.gaps.push('task/<tid>/schedstat absent: per-thread run and run-queue wait unknown (process gone, or kernel without CONFIG_SCHED_INFO)');
    return undefined;
  }
  const out = { count: 0, runSeconds: 0, runqueueWaitSeconds: 0, timeslices: 0 };
  for (const tid of a) {
    if (!b.has(tid)) continue;
    const p = both(c, `task/${tid}/schedstat`, parseSchedstat);
    if (!p) continue;
    out.count++;
    out.runSeconds += d(p[1].runNs, p[0].runNs) / 1e9;
    out.runqueueWaitSeconds += d(p[1].waitNs, p[0].waitNs) / 1e9;
    out.timeslices += d(p[1].slices, p[0].slices);
  }
  const born = [...a].filter((t) => !b.has(t)).length;
  const gone = [...b].filter((t) => !a.has(t)).length;
  if (born || gone) c.gaps.push(`threads: ${born} started and ${gone} ended during the window; their time is not counted`);
  return out;
}
