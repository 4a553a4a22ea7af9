/** The cgroup part of kernelDelta: v1 and v2 files → quota, throttling, usage, memory and PSI. */
import { parseCgroupInfo } from './cgroup.js';
import { parseCfsQuota, parseCpuMax, parseFlatKeyed, parseMemoryLimit, parseSingleNumber } from './formats.js';
import type { CgroupDelta } from './parse.js';
import { both, d, keyDelta, last, prune, psiSet, safe, type Ctx } from './window.js';

/** From the cgroup/* keys and cgroup/_info of both snapshots. */
export function cgroupDelta(c: Ctx): CgroupDelta | undefined {
  const text = c.after['cgroup/_info'] ?? c.before['cgroup/_info'];
  if (text === undefined) {
    c.gaps.push('cgroup/_info absent: the process\'s cgroup was not resolved (process gone, or /proc/PID/cgroup unreadable)');
    return undefined;
  }
  const info = safe(c, 'cgroup/_info', text, parseCgroupInfo);
  if (!info) return undefined;
  for (const n of info.notes) c.gaps.push(`cgroup: ${n}`);
  const s = info.slots;
  const main = info.version === 1 ? s.cpu ?? s.cpuacct ?? s.memory : s.unified;
  const out: CgroupDelta = { version: info.version, path: main?.path ?? '?' };
  if (info.version === 1) {
    out.paths = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.path]));
    Object.assign(out, cgroupV1(c));
  } else Object.assign(out, cgroupV2(c));
  const psi = psiSet(c, (r) => `cgroup/${r}.pressure`, info.version === 2 ? 'no per-cgroup PSI' : undefined, false);
  if (Object.keys(psi).length) out.psi = psi;
  return out;
}

function cgroupV1(c: Ctx): Partial<CgroupDelta> {
  const out: Partial<CgroupDelta> = {};
  const [q, per] = [c.after['cgroup/cpu.cfs_quota_us'], c.after['cgroup/cpu.cfs_period_us']];
  if (q !== undefined && per !== undefined) out.quotaCores = safe(c, 'cgroup/cpu.cfs_quota_us', q, (t, f) => parseCfsQuota(t, per, f));
  else c.gaps.push('cgroup/cpu.cfs_quota_us or cpu.cfs_period_us absent: CPU quota unknown');
  const st = both(c, 'cgroup/cpu.stat', parseFlatKeyed, 'CFS throttling unknown');
  out.periods = keyDelta(st, 'nr_periods');
  out.throttledPeriods = keyDelta(st, 'nr_throttled');
  const tt = keyDelta(st, 'throttled_time');
  if (tt !== undefined) out.throttledSeconds = tt / 1e9; // v1 throttled_time is in ns
  const u = both(c, 'cgroup/cpuacct.usage', parseSingleNumber, 'cgroup CPU usage unknown');
  if (u) out.usageSeconds = d(u[1], u[0]) / 1e9;
  out.memoryLimitBytes = last(c, 'cgroup/memory.limit_in_bytes', parseMemoryLimit);
  out.memoryUsageBytes = last(c, 'cgroup/memory.usage_in_bytes', parseSingleNumber);
  const f = both(c, 'cgroup/memory.failcnt', parseSingleNumber, 'memory limit hits unknown');
  if (f) out.memoryFailcnt = d(f[1], f[0]);
  return prune(out);
}

function cgroupV2(c: Ctx): Partial<CgroupDelta> {
  const out: Partial<CgroupDelta> = {};
  if (c.after['cgroup/cpu.max'] !== undefined) out.quotaCores = safe(c, 'cgroup/cpu.max', c.after['cgroup/cpu.max'], parseCpuMax)?.quotaCores;
  else c.gaps.push('cgroup/cpu.max absent: CPU quota unknown (the root cgroup has none)');
  const st = both(c, 'cgroup/cpu.stat', parseFlatKeyed, 'cgroup CPU usage and throttling unknown');
  if (st && st[1].nr_periods === undefined) c.gaps.push('cgroup/cpu.stat has no nr_periods: the cpu controller is not enabled for this cgroup');
  out.periods = keyDelta(st, 'nr_periods');
  out.throttledPeriods = keyDelta(st, 'nr_throttled');
  const tu = keyDelta(st, 'throttled_usec');
  if (tu !== undefined) out.throttledSeconds = tu / 1e6;
  const uu = keyDelta(st, 'usage_usec');
  if (uu !== undefined) out.usageSeconds = uu / 1e6;
  if (c.after['cgroup/memory.max'] !== undefined) out.memoryLimitBytes = safe(c, 'cgroup/memory.max', c.after['cgroup/memory.max'], parseMemoryLimit);
  if (c.after['cgroup/memory.current'] !== undefined) out.memoryUsageBytes = safe(c, 'cgroup/memory.current', c.after['cgroup/memory.current'], parseSingleNumber);
  const ev = both(c, 'cgroup/memory.events', parseFlatKeyed, 'memory controller not enabled for this cgroup');
  if (ev) out.memoryEvents = Object.fromEntries(Object.keys(ev[1]).flatMap((k) => (ev[0][k] === undefined ? [] : [[k, d(ev[1][k], ev[0][k])]])));
  return prune(out);
}
