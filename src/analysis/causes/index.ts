/** The rule registry: one rule per cause id that has evidence to judge it. Order does not affect ranking. */
import type { CauseId } from '../catalogue.js';
import type { Rule } from '../finding.js';
import { acceptQueueOverflow } from './accept-queue-overflow.js';
import { cpuSteal } from './cpu-steal.js';
import { cpuThrottling } from './cpu-throttling.js';
import { diskIoLatency } from './disk-io-latency.js';
import { hardirqLatency } from './hardirq-latency.js';
import { memoryReclaim } from './memory-reclaim.js';
import { runqueueContention } from './runqueue-contention.js';
import { softirqSaturation } from './softirq-saturation.js';
import { tcpRetransmits } from './tcp-retransmits.js';
import { channelBlocking } from './channel-blocking.js';
import { cpuBound } from './cpu-bound.js';
import { downstreamLatency } from './downstream-latency.js';
import { gcPressure } from './gc-pressure.js';
import { goSchedulerLatency } from './go-scheduler-latency.js';
import { goroutineLeak } from './goroutine-leak.js';
import { lockContention } from './lock-contention.js';

export const RULES: Record<CauseId, Rule> = {
  'gc-pressure': gcPressure,
  'lock-contention': lockContention,
  'channel-blocking': channelBlocking,
  'cpu-bound': cpuBound,
  'goroutine-leak': goroutineLeak,
  'go-scheduler-latency': goSchedulerLatency,
  'downstream-latency': downstreamLatency,
  'cpu-throttling': cpuThrottling,
  'runqueue-contention': runqueueContention,
  'disk-io-latency': diskIoLatency,
  'memory-reclaim': memoryReclaim,
  'tcp-retransmits': tcpRetransmits,
  'accept-queue-overflow': acceptQueueOverflow,
  'softirq-saturation': softirqSaturation,
  'hardirq-latency': hardirqLatency,
  'cpu-steal': cpuSteal,
};
