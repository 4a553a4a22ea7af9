/**
 * tcp-retransmits: segments are lost between the service and its clients or dependencies, and the
 * sender waits for a retransmit timeout (200 ms at least) or a tail-loss probe. The server's own
 * latency timer stops when it hands the response to the kernel, so loss on the response path leaves
 * its histogram flat while clients see RTO-sized tails: that gap is itself the signature.
 */
import { clamp01, fmtNum, fmtPct, fmtDuration } from '../../util/num.js';
import { kernelRefs, riseWitness, type Finding, type Rule } from '../finding.js';
import { isHandshake } from '../kernel-facts.js';

const RTO_MIN = 0.2;

export const tcpRetransmits: Rule = (ev, f) => {
  const reasons: string[] = [];
  const support: string[] = [];
  const evidence: Finding['evidence'] = [];
  const missing: string[] = [];
  let effect = 0;
  const k = f.kernel;

  const t = k?.tcp;
  const retrans = t?.['Tcp:RetransSegs'] ?? 0, out = t?.['Tcp:OutSegs'] ?? 0;
  const timeouts = t?.['TcpExt:TCPTimeouts'] ?? 0, probes = t?.['TcpExt:TCPLossProbes'] ?? 0;
  const ratio = out > 0 ? retrans / out : 0;
  if (t && retrans >= 5 && ratio >= 0.002) {
    support.push('/proc/net/snmp');
    reasons.push(`The target's network namespace retransmitted ${fmtNum(retrans)} of ${fmtNum(out)} segments (${fmtPct(ratio, 1)}) in ${fmtNum(k!.seconds)} s${timeouts || probes ? `: ${fmtNum(timeouts)} retransmit timeouts and ${fmtNum(probes)} tail-loss probes` : ''}. Each timeout costs the request at least ${fmtDuration(RTO_MIN)}.`);
    // 1% loss already puts an RTO into a typical multi-segment exchange's p99.
    effect = Math.max(effect, clamp01(ratio / 0.01));
    evidence.push(...kernelRefs(f, 'procfs', '/proc/PID/net/snmp and netstat (RetransSegs, TCPTimeouts)', ['pid/net/snmp', 'pid/net/netstat']));
  } else if (!t) missing.push('/proc/net/snmp');

  // Which connections: the target's own ports, from bpftrace.
  const flows = k?.retransmits;
  // With the listen queue overflowing, retried handshakes are that cause's doing, not packet loss.
  const overflowing = (t?.['TcpExt:ListenOverflows'] ?? 0) + (t?.['TcpExt:ListenDrops'] ?? 0) > 0;
  if (flows) {
    const ports = new Set(k!.ports);
    const mine = flows.filter((r) => (ports.has(r.sport) || ports.has(r.dport)) && !(overflowing && isHandshake(r)));
    const n = mine.reduce((s, r) => s + r.count, 0);
    if (n >= 3) {
      support.push('bpftrace tcp_retransmit_skb');
      const peers = new Map<string, number>();
      for (const r of mine) {
        const peer = ports.has(r.sport) ? `${r.daddr} (client of :${r.sport})` : `${r.daddr}:${r.dport}`;
        peers.set(peer, (peers.get(peer) ?? 0) + r.count);
      }
      const top = [...peers].sort((a, b) => b[1] - a[1]).slice(0, 3);
      reasons.push(`${fmtNum(n)} retransmits on the service's own connections, to ${top.map(([p, c]) => `${p} ×${fmtNum(c)}`).join(', ')}${mine.some((r) => r.kind === 'synack') ? '; some are SYN-ACKs (handshakes)' : ''}.`);
      if (!support.includes('/proc/net/snmp')) effect = Math.max(effect, clamp01(n / k!.seconds / 5));
      evidence.push(...kernelRefs(f, 'bpf:tcpretrans', 'retransmitted segments with addresses'));
    }
  } else missing.push('bpftrace tcp retransmits');

  const perSec = (v: number) => `${fmtNum(v)}/s`;
  if (riseWitness(ev, f, { support, reasons, evidence }, { key: 'node_retrans', source: 'node_netstat_Tcp_RetransSegs', what: 'Node retransmits', show: perSec, ratio: 3, min: 1 }) && !t) effect = Math.max(effect, 0.4);
  if (support.length === 0) return null;

  // The gap: a server-side P99 well below the RTO cannot contain the retransmit delay.
  const p99 = f.spike.metrics.latency_p99?.max, b99 = f.baseline?.metrics.latency_p99?.mean;
  if (p99 !== undefined && p99 < RTO_MIN) {
    reasons.push(`The server's own P99 is ${fmtDuration(p99)}${b99 !== undefined ? ` (baseline ${fmtDuration(b99)})` : ''}, below the ${fmtDuration(RTO_MIN)} minimum RTO: the delay is outside its timer. Compare with the clients' P99 — a client/server gap is this cause's signature.`);
  }
  return { id: 'tcp-retransmits', effect, support, reasons, evidence, missing, frames: [], profiles: [], serverBlind: true };
};
