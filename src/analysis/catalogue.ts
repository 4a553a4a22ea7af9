/**
 * The cause catalogue. Ids are a public contract (users' CI scripts match on them): never rename one.
 * Each entry says what evidence the cause is judged on, so the report can say what was not observed.
 */

export type Level = 'user-space' | 'kernel' | 'hardware';
export const LEVELS: readonly Level[] = ['user-space', 'kernel', 'hardware'];

export type UserSpaceCause =
  | 'gc-pressure'
  | 'lock-contention'
  | 'channel-blocking'
  | 'cpu-bound'
  | 'goroutine-leak'
  | 'go-scheduler-latency'
  | 'downstream-latency';

export type CauseId =
  | UserSpaceCause
  | 'cpu-throttling'
  | 'runqueue-contention'
  | 'disk-io-latency'
  | 'memory-reclaim'
  | 'tcp-retransmits'
  | 'accept-queue-overflow'
  | 'softirq-saturation'
  | 'hardirq-latency'
  | 'cpu-steal';

export interface CauseInfo {
  id: CauseId;
  level: Level;
  title: string;
  /** The evidence the rule reads, for the README and for "not observed" lines. */
  evidence: string;
  remedies: string[];
  /** Highlight colour in flame graphs and the legend. */
  color: string;
}

const c = (id: CauseId, level: Level, title: string, color: string, evidence: string, remedies: string[]): CauseInfo => ({
  id,
  level,
  title,
  color,
  evidence,
  remedies,
});

export const CATALOGUE: Record<CauseId, CauseInfo> = {
  'gc-pressure': c('gc-pressure', 'user-space', 'GC pressure: allocation drives garbage collection onto the request path', '#e6550d',
    'CPU profile (GC mark, assist, allocation share), allocs profile (allocation sites), go_gc_duration_seconds, go_memstats_alloc_bytes_total',
    ['Cut allocation on the hot path shown in the allocs profile: reuse buffers (sync.Pool), preallocate slices/maps, avoid []byte↔string copies.',
      'Give the heap room: raise GOGC or set GOMEMLIMIT near the container limit so GC runs less often.',
      'Check the latest allocation sites with: go tool pprof -sample_index=alloc_space <allocs profile>.']),
  'lock-contention': c('lock-contention', 'user-space', 'Lock contention: requests queue on a mutex', '#d62728',
    'mutex and block profiles (delay in sync.Mutex/RWMutex), goroutine profile (request goroutines parked on locks), go_sync_mutex_wait_total_seconds_total',
    ['Shorten the critical section named in the mutex profile: move work (I/O, encoding, allocation) outside Lock/Unlock.',
      'Shard the lock or the data it protects, or use sync.RWMutex / atomic values for read-mostly state.',
      'Avoid holding a lock across calls to other services or channels.']),
  'channel-blocking': c('channel-blocking', 'user-space', 'Channel blocking: requests wait on a channel, pool or select', '#e377c2',
    'block profile (chansend/chanrecv/select delay), goroutine profile (request goroutines parked on channels)',
    ['Size the worker pool or channel buffer for peak arrival rate (Little\'s law: workers ≥ rate × service time).',
      'Put a timeout/context on the wait and shed load instead of queueing unboundedly.',
      'Make the consumer side faster or parallel; look at the receiving end named in the block profile.']),
  'cpu-bound': c('cpu-bound', 'user-space', 'CPU-bound hot path: requests spend longer on CPU', '#ff7f0e',
    'CPU profile (application frames on the request path, CPU per request), process_cpu_seconds_total, request rate',
    ['Optimise the hot function at the top of the CPU profile (see the flame graph); cache or precompute its result.',
      'If CPU per request is expected, add capacity: more replicas or a higher CPU limit.',
      'Move heavy work off the request path (async job, batch).']),
  'goroutine-leak': c('goroutine-leak', 'user-space', 'Goroutine leak: goroutines pile up and never finish', '#8c564b',
    'go_goroutines trend, goroutine profile (growth of goroutines outside request handling, by start function)',
    ['Find the creator of the growing goroutines in the goroutine profile and give them an exit: context cancellation, closed channels, timeouts.',
      'Use goleak in tests to catch leaks before production.',
      'Restart relieves it only temporarily: memory and GC cost grow with every leaked goroutine.']),
  'go-scheduler-latency': c('go-scheduler-latency', 'user-space', 'Go scheduler latency: runnable goroutines wait for a P', '#bcbd22',
    'go_sched_latencies_seconds (when exposed), CPU usage vs GOMAXPROCS, CPU outside the request path, runnable request goroutines',
    ['Find what saturates the Ps outside the request path (background jobs, batch work) and throttle or move it.',
      'Check GOMAXPROCS against the CPU the container really gets (Go ≥1.25 follows the cgroup limit; older: go.uber.org/automaxprocs).',
      'Bound concurrency of CPU-heavy background goroutines (worker pool with a limit).']),
  'downstream-latency': c('downstream-latency', 'user-space', 'Slow downstream dependency: requests wait on outbound calls', '#17becf',
    'goroutine profile (request goroutines inside HTTP/gRPC/database client calls), block profile (select in the client), client-side latency metrics when present',
    ['Look at the dependency named in the goroutine profile: its own latency, saturation and errors.',
      'Set tight timeouts and retries with budgets; use hedged requests or a circuit breaker for tail latency.',
      'Check client connection pools (MaxIdleConnsPerHost, database pool size) for queueing.']),
  'cpu-throttling': c('cpu-throttling', 'kernel', 'CPU throttling by the cgroup quota', '#1f77b4',
    'cgroup cpu.stat (nr_throttled, throttled_time), container_cpu_cfs_throttled_* , CPU quota vs GOMAXPROCS',
    ['Raise or remove the CPU limit, or lower GOMAXPROCS to the quota.', 'Spread bursty work so it fits the CFS period.']),
  'runqueue-contention': c('runqueue-contention', 'kernel', 'Run-queue contention: threads wait for a CPU', '#aec7e8',
    'bpftrace run-queue latency of the target\'s threads, per-thread schedstat, PSI cpu',
    ['Move noisy neighbours off the node or pin the service (CPU manager static policy).', 'Request more CPU so the scheduler places fewer pods per core.']),
  'disk-io-latency': c('disk-io-latency', 'kernel', 'Disk I/O latency (fsync / write / block device)', '#2ca02c',
    'bpftrace fsync/write syscall latency and block device latency, PSI io',
    ['Move fsync off the request path or batch it (group commit).', 'Use a faster volume class or raise its IOPS limit.']),
  'memory-reclaim': c('memory-reclaim', 'kernel', 'Memory reclaim stalls near the memory limit', '#98df8a',
    'cgroup memory events/failcnt, PSI memory, bpftrace direct/memcg reclaim',
    ['Raise the memory limit or set GOMEMLIMIT below it.', 'Reduce page-cache heavy I/O in the container.']),
  'tcp-retransmits': c('tcp-retransmits', 'kernel', 'TCP retransmits: packet loss on the path', '#ff9896',
    '/proc/net/snmp RetransSegs, bpftrace tcp:tcp_retransmit_skb, node_netstat_Tcp_RetransSegs, client/server latency gap',
    ['Find the lossy hop (node NIC, overlay, conntrack); check drops with the node\'s tc/ethtool counters.']),
  'accept-queue-overflow': c('accept-queue-overflow', 'kernel', 'Listen queue overflow: connections dropped before accept', '#c5b0d5',
    'TcpExt ListenOverflows/ListenDrops, node_netstat_TcpExt_ListenOverflows',
    ['Raise the listen backlog (net.core.somaxconn) and accept faster.', 'Use keep-alive connections to avoid connection churn.']),
  'softirq-saturation': c('softirq-saturation', 'hardware', 'Softirq saturation: network/timer interrupts steal the CPU', '#c49c94',
    '/proc/softirqs, node_cpu_seconds_total{mode="softirq"}, bpftrace softirq time per vector',
    ['Spread NIC queues across CPUs (RSS/RPS), keep the service off the busiest softirq CPUs.']),
  'hardirq-latency': c('hardirq-latency', 'hardware', 'Hard interrupt latency', '#f7b6d2',
    '/proc/interrupts, node_cpu_seconds_total{mode="irq"}, bpftrace irq handler time',
    ['Rebalance IRQ affinity; check for a misbehaving device.']),
  'cpu-steal': c('cpu-steal', 'hardware', 'CPU steal: the hypervisor runs someone else', '#c7c7c7',
    '/proc/stat steal, node_cpu_seconds_total{mode="steal"}',
    ['Move to dedicated or larger instances; ask the provider about noisy neighbours.']),
};

export const CAUSE_IDS = Object.keys(CATALOGUE) as CauseId[];
