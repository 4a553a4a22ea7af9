/** Names for the integers our bpftrace scripts print (softirq vectors, task and TCP states, dev_t). */

/** Softirq vectors in kernel order (include/linux/interrupt.h). */
export const SOFTIRQ_VECTORS = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'] as const;

export function softirqName(vec: number): string {
  return SOFTIRQ_VECTORS[vec] ?? `vec${vec}`;
}

// sched_switch prev_state bits as the tracepoint prints them (TASK_REPORT, plus 0x80 for idle kthreads).
const STATE_BITS: Array<[number, string]> = [[0x1, 'S'], [0x2, 'D'], [0x4, 'T'], [0x8, 't'], [0x10, 'X'], [0x20, 'Z'], [0x40, 'P'], [0x80, 'I']];

/** `1` → `S` (interruptible sleep), `2` → `D` (uninterruptible, usually I/O), `0` → `R`; combined with `|`. */
export function taskStateName(state: number): string {
  const names = STATE_BITS.filter(([bit]) => state & bit).map(([, n]) => n);
  return names.length ? names.join('|') : 'R';
}

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];

/** include/net/tcp_states.h */
export function tcpStateName(state: number): string {
  return TCP_STATES[state] || `state${state}`;
}

/** The kernel's internal dev_t as `major:minor` (MINORBITS = 20), e.g. 266338304 → `254:0`. */
export function devName(dev: number): string {
  return `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
}
