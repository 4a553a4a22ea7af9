/**
 * Kernel and hardware facts, derived once from procfs/cgroup deltas, bpftrace maps and node series
 * and shared by the kernel and hardware rules. Every field is optional: each source may be missing.
 * Fractions are of wall time over the capture window unless named otherwise.
 */

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
  threads?: { count: number; runSeconds: number; runqueueWaitSeconds: number };
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

export interface Psi {
  cpu?: number;
  io?: number;
  memory?: number;
}
