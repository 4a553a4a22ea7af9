/**
 * Pure parsers for the kernel text files readProcfs captures, one per format. Each takes the text and
 * the file's name (for the error) and throws an input error naming the file when the text is not that
 * format. Values keep the kernel's units unless the name says otherwise (`totalUs`, `runNs`, seconds).
 */
import { inputError } from '../../errors.js';

/** /proc/stat counts in USER_HZ, which the kernel ABI fixes at 100 on every mainstream architecture. */
export const USER_HZ = 100;

export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type CpuMode = (typeof CPU_MODES)[number];
export type CpuModes = Record<CpuMode, number>;

const bad = (file: string, what: string) => inputError(`${file}: ${what}`, 'the capture may be truncated or from an unexpected kernel');
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

function int(token: string | undefined, file: string, what: string): number {
  if (token === undefined || !/^-?\d+$/.test(token)) throw bad(file, `${what} is not an integer: ${JSON.stringify(token)}`);
  return Number(token);
}

export const zeroModes = (): CpuModes => ({ user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 });

/** `cpu` and `cpuN` lines of /proc/stat as seconds since boot; `perCpu[N]` is cpuN (offline CPUs are missing). */
export function parseProcStat(text: string, file = 'proc/stat'): { total: CpuModes; perCpu: Array<CpuModes | undefined> } {
  let total: CpuModes | undefined;
  const perCpu: Array<CpuModes | undefined> = [];
  for (const line of lines(text)) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    // guest/guest_nice (fields 9, 10) are already included in user/nice: ignore them.
    const v = m[2].trim().split(/\s+/);
    if (v.length < 8) throw bad(file, `${line.slice(0, 40)}… has fewer than 8 fields`);
    const modes = zeroModes();
    CPU_MODES.forEach((k, i) => (modes[k] = int(v[i], file, `cpu${m[1]} ${k}`) / USER_HZ));
    if (m[1] === '') total = modes;
    else perCpu[Number(m[1])] = modes;
  }
  if (!total) throw bad(file, 'no "cpu" line');
  return { total, perCpu };
}

/** Number of `CPUn` columns in a softirqs/interrupts header line. */
function headerCpus(header: string | undefined, file: string): number {
  const n = header?.trim().split(/\s+/).filter((t) => /^CPU\d+$/.test(t)).length ?? 0;
  if (n === 0) throw bad(file, 'no CPU column header');
  return n;
}

/** /proc/softirqs: vector name (NET_RX, TIMER…) → count per CPU column. */
export function parseSoftirqs(text: string, file = 'proc/softirqs'): { cpus: number; rows: Record<string, number[]> } {
  const [header, ...rest] = lines(text);
  const cpus = headerCpus(header, file);
  const rows: Record<string, number[]> = {};
  for (const line of rest) {
    const m = /^\s*([A-Z_]+):\s+(.*)$/.exec(line);
    if (!m) throw bad(file, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
    rows[m[1]] = m[2].trim().split(/\s+/).slice(0, cpus).map((t) => int(t, file, m[1]));
  }
  return { cpus, rows };
}

export interface InterruptRow {
  /** `41` for a device IRQ, `LOC`, `NMI`, `RES`… for architecture rows. */
  irq: string;
  /** Device/action name (`virtio3-rx`) or the kernel's description (`Local timer interrupts`). */
  name: string;
  /** One count per CPU column; ERR and MIS are system-wide and carry a single value. */
  perCpu: number[];
}

/** /proc/interrupts. The description after the counts is `chip hwirq-trigger action[, action]` for device IRQs. */
export function parseInterrupts(text: string, file = 'proc/interrupts'): { cpus: number; rows: InterruptRow[] } {
  const [header, ...rest] = lines(text);
  const cpus = headerCpus(header, file);
  const rows: InterruptRow[] = [];
  for (const line of rest) {
    const m = /^\s*([^\s:]+):\s*(.*)$/.exec(line);
    if (!m) throw bad(file, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
    const tokens = m[2].trim().split(/\s+/).filter(Boolean);
    const perCpu: number[] = [];
    while (perCpu.length < cpus && tokens.length && /^\d+$/.test(tokens[0])) perCpu.push(Number(tokens.shift()));
    if (perCpu.length === 0) throw bad(file, `IRQ ${m[1]} has no counts`);
    rows.push({ irq: m[1], name: /^\d+$/.test(m[1]) ? deviceName(tokens) : tokens.join(' '), perCpu });
  }
  return { cpus, rows };
}

function deviceName(desc: string[]): string {
  // x86 writes hwirq-flow (`5-edge`, `9-fasteoi`), GIC writes `Level`/`Edge` as its own token: the action names follow.
  const t = desc.findIndex((d) => /^\d+-[a-z]+$/i.test(d) || /^(edge|level)$/i.test(d));
  const after = t >= 0 ? desc.slice(t + 1) : desc.slice(-1);
  return after.join(' ') || desc.join(' ');
}

export interface PsiLine { avg10: number; avg60: number; avg300: number; totalUs: number }
export interface Psi { some: PsiLine; full?: PsiLine }

/** /proc/pressure/* and cgroup v2 *.pressure: `some avg10=0.12 avg60=… avg300=… total=<µs>`. */
export function parsePsi(text: string, file: string): Psi {
  const out: Partial<Psi> = {};
  for (const line of lines(text)) {
    const m = /^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)\s+avg300=([\d.]+)\s+total=(\d+)\s*$/.exec(line);
    if (!m) throw bad(file, `not a PSI line: ${JSON.stringify(line.slice(0, 60))}`);
    out[m[1] as 'some' | 'full'] = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalUs: Number(m[5]) };
  }
  if (!out.some) throw bad(file, 'no "some" line');
  return out as Psi;
}

export interface Schedstat { runNs: number; waitNs: number; slices: number }

/** /proc/PID/task/TID/schedstat: time on CPU (ns), time runnable but waiting on a run queue (ns), timeslices. */
export function parseSchedstat(text: string, file: string): Schedstat {
  const v = text.trim().split(/\s+/);
  if (v.length !== 3) throw bad(file, `expected "run_ns wait_ns slices", got ${JSON.stringify(text.trim().slice(0, 60))}`);
  return { runNs: int(v[0], file, 'run_ns'), waitNs: int(v[1], file, 'wait_ns'), slices: int(v[2], file, 'slices') };
}

/** /proc/net/snmp and /proc/net/netstat: pairs of `Proto: names…` / `Proto: values…` lines → `Tcp:RetransSegs`. */
export function parseSnmp(text: string, file: string): Record<string, number> {
  const ls = lines(text);
  if (ls.length % 2) throw bad(file, 'odd number of lines (header/value pairs expected)');
  const out: Record<string, number> = {};
  for (let i = 0; i < ls.length; i += 2) {
    const [hp, ...names] = ls[i].trim().split(/\s+/);
    const [vp, ...values] = ls[i + 1].trim().split(/\s+/);
    if (!hp.endsWith(':') || hp !== vp || names.length !== values.length) throw bad(file, `line ${i + 1}: header and values do not pair up (${hp} / ${vp})`);
    names.forEach((n, j) => (out[`${hp}${n}`] = int(values[j], file, `${hp}${n}`)));
  }
  return out;
}

/** TCP state numbers of include/net/tcp_states.h that we name. */
export const TCP_LISTEN = 0x0a;

export interface TcpSocketRow {
  /** Local address as the kernel prints it (hex, network order per 32-bit word). */
  localHex: string;
  port: number;
  state: number;
  /** For LISTEN: write_seq - snd_una, i.e. 0 — NOT the backlog (only inet_diag/`ss` shows that). */
  txQueue: number;
  /** For LISTEN: connections waiting in the accept queue (sk_ack_backlog). */
  rxQueue: number;
  inode: number;
}

/** /proc/net/tcp and tcp6 rows. */
export function parseNetTcp(text: string, file: string): TcpSocketRow[] {
  const [header, ...rest] = lines(text);
  if (!header || !/^\s*sl\s+local_address/.test(header)) throw bad(file, 'no "sl local_address" header');
  return rest.map((line) => {
    const f = line.trim().split(/\s+/);
    const local = /^([0-9A-F]+):([0-9A-F]{4})$/i.exec(f[1] ?? '');
    const queues = /^([0-9A-F]{8}):([0-9A-F]{8})$/i.exec(f[4] ?? '');
    if (!local || !queues || !/^[0-9A-F]{2}$/i.test(f[3] ?? '') || f.length < 10) throw bad(file, `unexpected row ${JSON.stringify(line.trim().slice(0, 60))}`);
    return { localHex: local[1], port: parseInt(local[2], 16), state: parseInt(f[3], 16), txQueue: parseInt(queues[1], 16), rxQueue: parseInt(queues[2], 16), inode: int(f[9], file, 'inode') };
  });
}

/** Flat-keyed cgroup files (`key value` per line): cpu.stat, memory.stat, memory.events. */
export function parseFlatKeyed(text: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines(text)) {
    const m = /^(\S+)\s+(-?\d+)\s*$/.exec(line);
    if (!m) throw bad(file, `not a "key value" line: ${JSON.stringify(line.slice(0, 60))}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** A file holding one integer (cpu.cfs_quota_us, memory.current, cpuacct.usage…). */
export function parseSingleNumber(text: string, file: string): number {
  return int(text.trim(), file, 'value');
}

/** Cores a v1 CFS quota allows; undefined when unlimited (quota -1). */
export function parseCfsQuota(quotaText: string, periodText: string, file = 'cgroup/cpu.cfs_quota_us'): number | undefined {
  const periodFile = file.replace('quota', 'period');
  const quota = parseSingleNumber(quotaText, file);
  const period = parseSingleNumber(periodText, periodFile);
  if (quota < 0) return undefined;
  if (period <= 0) throw bad(periodFile, `period ${period} is not positive`);
  return quota / period;
}

/** v2 cpu.max `$MAX $PERIOD` (a third `$BURST` value may follow): cores, undefined for `max`. */
export function parseCpuMax(text: string, file = 'cgroup/cpu.max'): { quotaCores?: number; periodUs: number } {
  const m = /^(max|\d+)\s+(\d+)(\s+\d+)?\s*$/.exec(text.trim());
  if (!m || Number(m[2]) <= 0) throw bad(file, `expected "$MAX $PERIOD", got ${JSON.stringify(text.trim())}`);
  const periodUs = Number(m[2]);
  return m[1] === 'max' ? { periodUs } : { quotaCores: Number(m[1]) / periodUs, periodUs };
}

/**
 * Memory limit in bytes, undefined when unlimited: v2 writes `max`; v1 writes PAGE_COUNTER_MAX pages
 * in bytes (9223372036854771712 with 4 KiB pages), so anything ≥ 2^62 means "no limit".
 */
export function parseMemoryLimit(text: string, file: string): number | undefined {
  const t = text.trim();
  if (t === 'max') return undefined;
  const n = parseSingleNumber(t, file);
  return n >= 2 ** 62 ? undefined : n;
}
