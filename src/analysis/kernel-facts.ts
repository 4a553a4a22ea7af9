/**
 * Kernel and hardware facts, derived once from procfs/cgroup deltas, bpftrace maps and node series
 * and shared by the kernel and hardware rules. Every field is optional: each source may be missing.
 * Fractions are of wall time over the capture window unless named otherwise. Pure.
 */
import type { Evidence } from '../evidence/model.js';
import { devName, histMean, histQuantile, histTotal, mapEntries, softirqName, tcpStateName, type BpfKey, type BpfOutput, type HistBucket } from '../sources/bpftrace/parse.js';
import { CPU_MODES, type CpuMode, type CpuModes, type KernelDelta } from '../sources/procfs/parse.js';

export interface LatencyStats {
  count: number;
  meanUs: number;
  p99Us: number;
  maxUs?: number;
  /** Seconds spent in these events per second of wall time (mean number of threads waiting). */
  perSecond: number;
}

export interface KernelFacts {
  /** Length of the window the kernel evidence covers, seconds. */
  seconds: number;
  cpus?: number;
  /** The target's cgroup: CPU quota and throttling, memory limit and pressure. */
  cgroup?: {
    version: 1 | 2;
    quotaCores?: number;
    periods?: number;
    throttledPeriods?: number;
    throttledSeconds?: number;
    usageCores?: number;
    memoryLimitBytes?: number;
    memoryUsageBytes?: number;
    memoryFailcnt?: number;
    memoryEvents?: Record<string, number>;
    psi?: Psi;
  };
  /** The target's threads (per-thread schedstat): seconds on CPU and waiting on a run queue. */
  threads?: { count: number; runSeconds: number; runqueueWaitSeconds: number; timeslices: number };
  /** Run-queue latency of the target's threads (bpftrace). */
  runq?: LatencyStats;
  /** Node-wide pressure stall ("some") fractions. */
  psi: Psi;
  /** Node CPU capacity use by mode, as fractions of all CPUs' time; perCpu for softirq/irq hot spots. */
  cpuModes?: { busy: number; steal: number; irq: number; softirq: number; iowait: number; softirqMaxCpu: { cpu: number; frac: number }; irqMaxCpu: { cpu: number; frac: number } };
  /** Syscall latency of the target by syscall name (bpftrace). */
  syscalls?: Record<string, LatencyStats>;
  /** Block device latency by device (bpftrace). */
  blockIo?: Record<string, LatencyStats>;
  reclaim?: { direct?: LatencyStats; memcg?: LatencyStats };
  /** Counter deltas from the target's network namespace ('Tcp:RetransSegs', 'TcpExt:ListenOverflows'…). */
  tcp?: Record<string, number>;
  /** Retransmits seen by bpftrace, with addresses. */
  retransmits?: Array<{ kind: string; saddr: string; sport: number; daddr: string; dport: number; state: string; count: number }>;
  /** Listening sockets at the end of the window. */
  listen?: Array<{ port: number; queued: number; backlog: number }>;
  /** Softirq handler seconds per second by vector (bpftrace), and raise→run latency p99. */
  softirq?: { byVector: Record<string, number>; byCpu: number[]; latencyP99Us: Record<string, number> };
  /** Hard IRQ handler time by IRQ (bpftrace). */
  hardirq?: Array<{ irq: string; name: string; perSecond: number; maxUs: number }>;
  /** Interrupt counts per second by IRQ (procfs), busiest first. */
  interrupts?: Array<{ irq: string; name: string; perSecond: number }>;
  /** The target's listening ports: its sockets among host-wide evidence. */
  ports: number[];
  /** Artifacts each source came from, for evidence references. */
  artifacts: { procfs: string[]; bpf: Record<string, string> };
  /** Sources that were not collected or failed, in plain words. */
  gaps: string[];
}

/** A retransmitted SYN or SYN-ACK: connection setup, not data loss. */
export const isHandshake = (r: { kind: string; state: string }) => r.kind === 'synack' || r.state === 'SYN_SENT' || r.state === 'SYN_RECV';

export interface Psi {
  cpu?: number;
  io?: number;
  memory?: number;
}

/** Kernel facts from the bundle's kernel evidence; undefined when none was collected. */
export function deriveKernelFacts(ev: Evidence): KernelFacts | undefined {
  const p = ev.kernel.procfs;
  const bpfNames = Object.keys(ev.kernel.bpf);
  if (!p && bpfNames.length === 0) return undefined;
  const seconds = p?.delta.seconds ?? Math.max(...bpfNames.map((n) => ev.kernel.bpf[n].seconds), 1);
  const k: KernelFacts = {
    seconds,
    psi: {},
    ports: ev.manifest.target.ports ?? [],
    artifacts: { procfs: p?.artifacts ?? [], bpf: Object.fromEntries(bpfNames.map((n) => [n, ev.kernel.bpf[n].artifact])) },
    gaps: [],
  };
  if (p) fromProcfs(k, p.delta);
  fromBpf(k, ev.kernel.bpf);
  return k;
}

function fromProcfs(k: KernelFacts, d: KernelDelta): void {
  const s = d.seconds;
  k.cpus = d.cpus || undefined;
  k.psi = { cpu: d.psi.cpu?.someFraction, io: d.psi.io?.someFraction, memory: d.psi.memory?.someFraction };
  const total = CPU_MODES.reduce((t, m) => t + d.cpuModes[m], 0);
  if (total > 0) {
    const frac = (m: CpuModes, key: CpuMode) => {
      const t = CPU_MODES.reduce((a, x) => a + m[x], 0);
      return t > 0 ? m[key] / t : 0;
    };
    const hottest = (key: CpuMode) => d.cpuModesPerCpu.map((m, cpu) => ({ cpu, frac: frac(m, key) })).sort((a, b) => b.frac - a.frac)[0] ?? { cpu: 0, frac: 0 };
    const m = d.cpuModes;
    k.cpuModes = {
      busy: (m.user + m.nice + m.system + m.irq + m.softirq) / total,
      steal: m.steal / total,
      irq: m.irq / total,
      softirq: m.softirq / total,
      iowait: m.iowait / total,
      softirqMaxCpu: hottest('softirq'),
      irqMaxCpu: hottest('irq'),
    };
  }
  if (d.cgroup) {
    const c = d.cgroup;
    k.cgroup = {
      version: c.version,
      quotaCores: c.quotaCores,
      periods: c.periods,
      throttledPeriods: c.throttledPeriods,
      throttledSeconds: c.throttledSeconds,
      // On cgroup v1 cpuacct may be a different group (another hierarchy) than the quota's.
      usageCores: c.usageSeconds !== undefined && (c.version === 2 || !c.paths || c.paths.cpuacct === c.paths.cpu) ? c.usageSeconds / s : undefined,
      memoryLimitBytes: c.memoryLimitBytes,
      memoryUsageBytes: c.memoryUsageBytes,
      memoryFailcnt: c.memoryFailcnt,
      memoryEvents: c.memoryEvents,
      psi: c.psi ? { cpu: c.psi.cpu?.someFraction, io: c.psi.io?.someFraction, memory: c.psi.memory?.someFraction } : undefined,
    };
  }
  if (d.threads) k.threads = { ...d.threads };
  if (Object.keys(d.tcp).length) k.tcp = d.tcp;
  if (d.listen.length) k.listen = d.listen.map((l) => ({ port: l.port, queued: l.queued, backlog: l.backlog ?? 0 }));
  k.interrupts = d.interrupts
    .filter((i) => i.total > 0)
    .map((i) => ({ irq: i.irq, name: i.name, perSecond: i.total / s }))
    .sort((a, b) => b.perSecond - a.perSecond);
}

type Bpf = Evidence['kernel']['bpf'];

/** count/average/total stats (µs) and an optional histogram → LatencyStats over `seconds`. */
function latency(stats: { count: number; average: number; total: number } | undefined, buckets: HistBucket[] | undefined, seconds: number): LatencyStats | undefined {
  const count = stats?.count ?? (buckets ? histTotal(buckets) : 0);
  if (!count) return undefined;
  const p99 = buckets ? histQuantile(buckets, 0.99) : undefined;
  const meanUs = stats?.average ?? (buckets ? histMean(buckets) ?? 0 : 0);
  const maxBucket = buckets?.filter((b) => b.count > 0).sort((a, b) => b.hi - a.hi)[0];
  return { count, meanUs, p99Us: p99 ?? meanUs, maxUs: maxBucket?.hi, perSecond: (stats?.total ?? meanUs * count) / 1e6 / seconds };
}

const keyStr = (k: BpfKey, i = 0) => String(k[i] ?? '');

/** Per-key latency from a `@x_stats[key]` stats map and a `@x_us[key]` histogram. */
function latencyByKey(o: BpfOutput, statsMap: string, histMap: string, seconds: number, name = keyStr): Record<string, LatencyStats> {
  const out: Record<string, LatencyStats> = {};
  const hists = new Map(mapEntries(o.maps[histMap], 'hist').map((e) => [name(e.key), e.buckets]));
  const stats = new Map(mapEntries(o.maps[statsMap], 'stats').map((e) => [name(e.key), e]));
  for (const key of new Set([...hists.keys(), ...stats.keys()])) {
    const l = latency(stats.get(key), hists.get(key), seconds);
    if (l) out[key] = l;
  }
  return out;
}

function fromBpf(k: KernelFacts, bpf: Bpf): void {
  const secs = (name: string) => bpf[name]?.seconds || k.seconds;
  const runq = bpf.runqlat?.output;
  if (runq) k.runq = latency(mapEntries(runq.maps['@runq_stats'], 'stats')[0], mapEntries(runq.maps['@runq_us'], 'hist')[0]?.buckets, secs('runqlat')) ?? { count: 0, meanUs: 0, p99Us: 0, perSecond: 0 };
  const sys = bpf.syscalls?.output;
  if (sys) k.syscalls = latencyByKey(sys, '@sync_stats', '@sync_us', secs('syscalls'));
  const bio = bpf.biolatency?.output;
  if (bio) k.blockIo = latencyByKey(bio, '@bio_stats', '@bio_us', secs('biolatency'), (key) => (typeof key[0] === 'number' ? devName(key[0]) : keyStr(key)));
  const rec = bpf.reclaim?.output;
  if (rec) {
    const one = (stats: string, hist: string) => latency(mapEntries(rec.maps[stats], 'stats')[0], mapEntries(rec.maps[hist], 'hist')[0]?.buckets, secs('reclaim'));
    k.reclaim = { direct: one('@direct_reclaim_stats', '@direct_reclaim_us'), memcg: one('@memcg_reclaim_stats', '@memcg_reclaim_us') };
  }
  const tr = bpf.tcpretrans?.output;
  if (tr) {
    k.retransmits = mapEntries(tr.maps['@retrans'], 'values').map(({ key, value }) => ({
      kind: keyStr(key, 0),
      saddr: keyStr(key, 1),
      sport: Number(key[2]),
      daddr: keyStr(key, 3),
      dport: Number(key[4]),
      state: typeof key[5] === 'number' ? tcpStateName(key[5]) : keyStr(key, 5),
      count: value,
    }));
  }
  const si = bpf.softirq?.output;
  if (si) {
    const s = secs('softirq');
    const byVector: Record<string, number> = {};
    const byCpu: number[] = [];
    for (const { key, value } of mapEntries(si.maps['@softirq_us'], 'values')) {
      const vec = typeof key[0] === 'number' ? softirqName(key[0]) : keyStr(key);
      byVector[vec] = (byVector[vec] ?? 0) + value / 1e6 / s;
      const cpu = Number(key[1]);
      if (Number.isInteger(cpu)) byCpu[cpu] = (byCpu[cpu] ?? 0) + value / 1e6 / s;
    }
    const latencyP99Us: Record<string, number> = {};
    for (const { key, buckets } of mapEntries(si.maps['@softirq_lat_us'], 'hist')) {
      const q = histQuantile(buckets, 0.99);
      if (q !== undefined) latencyP99Us[typeof key[0] === 'number' ? softirqName(key[0]) : keyStr(key)] = q;
    }
    k.softirq = { byVector, byCpu: Array.from(byCpu, (x) => x ?? 0), latencyP99Us };
  }
  const hi = bpf.hardirq?.output;
  if (hi) {
    const s = secs('hardirq');
    const max = new Map(mapEntries(hi.maps['@hardirq_max_us'], 'values').map((e) => [`${keyStr(e.key, 0)}/${keyStr(e.key, 1)}`, e.value]));
    k.hardirq = mapEntries(hi.maps['@hardirq_us'], 'values').map(({ key, value }) => ({
      irq: keyStr(key, 0),
      name: keyStr(key, 1),
      perSecond: value / 1e6 / s,
      maxUs: max.get(`${keyStr(key, 0)}/${keyStr(key, 1)}`) ?? 0,
    }));
  }
}
