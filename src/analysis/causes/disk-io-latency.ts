/**
 * disk-io-latency: request threads wait on the disk, most often in fsync. The syscall latency is
 * what requests feel; the block-device latency says whether the device itself is slow or the delay
 * sits above the block layer (cgroup I/O limits, filesystem journal, writeback), which only the
 * syscall shows.
 */
import { clamp01, fmtDuration, fmtNum, fmtPct } from '../../util/num.js';
import { kernelRefs, riseWitness, stateShare, type Finding, type Rule } from '../finding.js';
import type { LatencyStats } from '../kernel-facts.js';

const SYNC = ['fsync', 'fdatasync', 'sync_file_range'];

export const diskIoLatency: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;
  const p99 = f.spike.metrics.latency_p99?.max;

  // The syscalls: slow durable writes by the target itself.
  const calls = Object.entries(k?.syscalls ?? {}).filter(([, s]) => s.count >= 3);
  const slow = calls.filter(([name, s]) => (SYNC.includes(name) ? s.p99Us >= 10_000 || s.meanUs >= 5_000 : s.p99Us >= 50_000));
  let worst: [string, LatencyStats] | undefined;
  if (slow.length) {
    worst = slow.sort((a, b) => b[1].perSecond - a[1].perSecond)[0];
    support.push('bpftrace syscall latency');
    for (const [name, s] of slow) {
      reasons.push(`${name}() by the target: p99 ${fmtDuration(s.p99Us / 1e6)}, mean ${fmtDuration(s.meanUs / 1e6)} over ${fmtNum(s.count)} calls; threads spent ${fmtDuration(s.perSecond)} per second in it.`);
    }
    // A request that syncs waits the syscall's tail: compare with the request P99. Far fewer syncs
    // than requests means a background flusher, off the request path: it counts for half.
    const rate = f.spike.metrics.request_rate?.mean;
    const background = rate !== undefined && worst[1].count / k!.seconds < 0.1 * rate;
    effect = Math.max(effect, (p99 ? clamp01(worst[1].p99Us / 1e6 / p99) : clamp01(worst[1].p99Us / 100_000)) * (background ? 0.5 : 1));
    if (background) reasons.push(`Only ${fmtNum(worst[1].count / k!.seconds)} ${worst[0]}() calls per second against ${fmtNum(rate!)} requests per second: a background flush, not a wait on every request's path.`);
    evidence.push(...kernelRefs(f, 'bpf:syscalls', 'fsync/fdatasync/write latency histograms'));
  } else if (!k?.syscalls) missing.push('bpftrace syscall latency');

  // The device: fast device + slow fsync = delay above the block layer.
  const devs = Object.entries(k?.blockIo ?? {}).filter(([, s]) => s.count >= 10);
  const slowDev = devs.filter(([, s]) => s.p99Us >= 20_000).sort((a, b) => b[1].p99Us - a[1].p99Us)[0];
  if (slowDev) {
    support.push('bpftrace block I/O latency');
    reasons.push(`Block device ${slowDev[0]}: request latency p99 ${fmtDuration(slowDev[1].p99Us / 1e6)} over ${fmtNum(slowDev[1].count)} requests: the device (or its volume's IOPS limit) is slow.`);
    effect = Math.max(effect, p99 ? clamp01(slowDev[1].p99Us / 1e6 / p99) * 0.8 : 0.4);
    evidence.push(...kernelRefs(f, 'bpf:biolatency', 'block request latency by device'));
  } else if (worst && devs.length) {
    const best = devs.sort((a, b) => b[1].count - a[1].count)[0];
    if (best[1].p99Us * 5 < worst[1].p99Us) {
      reasons.push(`Yet block requests on ${best[0]} complete in ${fmtDuration(best[1].p99Us / 1e6)} (p99): the delay sits above the block layer (a cgroup I/O limit such as blkio throttle / io.max, the filesystem journal, or writeback), which only the syscall shows.`);
    }
  } else if (!k?.blockIo) missing.push('bpftrace block I/O latency');

  const psi = k?.cgroup?.psi?.io ?? k?.psi.io;
  if (psi !== undefined && psi >= 0.1) {
    support.push('PSI io');
    reasons.push(`I/O pressure: some task stalled on I/O ${fmtPct(psi)} of the time.`);
    effect = Math.max(effect, support.length > 1 ? 0 : clamp01(psi / 0.5) * 0.6);
  } else {
    riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_psi_io', source: 'node_pressure_io_waiting_seconds_total', what: 'Node I/O pressure', show: fmtPct, ratio: 2, min: 0.05 });
  }
  if (support.length === 0) return null;
  // A slow device or I/O pressure is the node's (a neighbour's disk, a flush) until the target is
  // seen waiting on it: its own durable writes slow, or its requests sitting in syscalls.
  const inSys = stateShare(f, ['syscall']);
  if (inSys && inSys.spike >= 0.2) {
    reasons.push(`${fmtPct(inSys.spike)} of request time is inside syscalls (goroutine profile).`);
    effect = Math.max(effect, inSys.explained * 0.8);
  } else if (!slow.length) return null;
  return { id: 'disk-io-latency', effect, support, reasons, evidence, missing, frames: [/^(syscall\.(Fsync|Fdatasync|Syscall6?|RawSyscall6?)|os\.\(\*File\)\.(Sync|Write))$/, /^internal\/poll\.\(\*FD\)\.(Fsync|Write)$/], profiles: ['goroutine'] };
};
