/** The rule registry: one rule per cause id that has evidence to judge it. Order does not affect ranking. */
import type { CauseId } from '../catalogue.js';
import type { Rule } from '../finding.js';
import { channelBlocking } from './channel-blocking.js';
import { cpuBound } from './cpu-bound.js';
import { downstreamLatency } from './downstream-latency.js';
import { gcPressure } from './gc-pressure.js';
import { goSchedulerLatency } from './go-scheduler-latency.js';
import { goroutineLeak } from './goroutine-leak.js';
import { lockContention } from './lock-contention.js';

/**
 * Kernel and hardware causes have catalogue ids but no rule until their collectors exist (bpftrace,
 * procfs, cgroup, node metrics); the flow reports those levels as "not observed" meanwhile.
 */
export const RULES: Partial<Record<CauseId, Rule>> = {
  'gc-pressure': gcPressure,
  'lock-contention': lockContention,
  'channel-blocking': channelBlocking,
  'cpu-bound': cpuBound,
  'goroutine-leak': goroutineLeak,
  'go-scheduler-latency': goSchedulerLatency,
  'downstream-latency': downstreamLatency,
};
