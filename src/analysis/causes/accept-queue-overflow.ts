/**
 * accept-queue-overflow: connections complete the handshake faster than the service accepts them;
 * with the listen backlog full the kernel drops the final ACK or SYN, and the client retries after
 * a second or more. None of that reaches the server's latency histogram.
 */
import { clamp01, fmtNum } from '../../util/num.js';
import { kernelRefs, riseWitness, type Finding, type Rule } from '../finding.js';
import { isHandshake } from '../kernel-facts.js';

export const acceptQueueOverflow: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;

  const t = k?.tcp;
  const overflows = t?.['TcpExt:ListenOverflows'] ?? 0, drops = t?.['TcpExt:ListenDrops'] ?? 0;
  const rate = f.spike.metrics.request_rate?.mean;
  if (t && (overflows > 0 || drops > 0)) {
    support.push('/proc/net/netstat');
    reasons.push(`${fmtNum(overflows)} listen-queue overflows and ${fmtNum(drops)} dropped connection attempts in ${fmtNum(k!.seconds)} s in the target's network namespace: each costs the client a SYN retransmit (1 s, then 2 s, …).`);
    const perSec = Math.max(overflows, drops) / k!.seconds;
    // One refused attempt per hundred requests already dominates the clients' P99.
    effect = Math.max(effect, rate ? clamp01(perSec / (0.01 * rate)) : clamp01(perSec));
    evidence.push(...kernelRefs(f, 'procfs', '/proc/PID/net/netstat (ListenOverflows, ListenDrops)', ['pid/net/netstat', 'pid/net/tcp']));
  } else if (!t) missing.push('/proc/net/netstat');

  const ports = new Set(k?.ports ?? []);
  // /proc/net/tcp shows how many wait, not the limit (0 = unknown): a standing queue is itself a sign.
  const full = (k?.listen ?? []).filter((l) => ports.has(l.port) && (l.backlog > 0 ? l.queued >= 0.8 * l.backlog : l.queued >= 8));
  for (const l of full) {
    if (!support.includes('listen queue')) support.push('listen queue');
    reasons.push(`Port ${l.port}'s accept queue held ${fmtNum(l.queued)}${l.backlog > 0 ? ` of ${fmtNum(l.backlog)}` : ''} connections at the end of the capture: the service is not accepting fast enough (or its backlog, capped by net.core.somaxconn, is too small).`);
    effect = Math.max(effect, 0.5);
  }

  // Handshakes retried towards the service's port (clients on this node, any network namespace) or
  // SYN-ACKs it had to resend: what a full backlog does to connection setup.
  const handshakes = (k?.retransmits ?? []).filter((r) => isHandshake(r) && (ports.has(r.dport) || ports.has(r.sport)));
  const n = handshakes.reduce((t, r) => t + r.count, 0);
  if (n >= 3) {
    support.push('bpftrace handshake retransmits');
    reasons.push(`${fmtNum(n)} handshake packets (SYN, SYN-ACK) to or from the service's port were retransmitted: connection attempts waiting out the backlog.`);
    evidence.push(...kernelRefs(f, 'bpf:tcpretrans', 'retransmitted handshakes'));
    if (!t) effect = Math.max(effect, 0.4);
  }

  const perSec = (v: number) => `${fmtNum(v)}/s`;
  const node =
    riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_listen_overflows', source: 'node_netstat_TcpExt_ListenOverflows', what: 'Node listen overflows', show: perSec, ratio: 3, min: 0.1 }) ??
    riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_listen_drops', source: 'node_netstat_TcpExt_ListenDrops', what: 'Node listen drops', show: perSec, ratio: 3, min: 0.1 });
  if (node && !t) effect = Math.max(effect, 0.4);
  if (support.length === 0) return null;
  return { id: 'accept-queue-overflow', effect, support, reasons, evidence, missing, frames: [], profiles: [], serverBlind: true };
};
