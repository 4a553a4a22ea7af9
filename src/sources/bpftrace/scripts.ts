/**
 * The catalogue of shipped bpftrace scripts (scripts/bpftrace/*.bt): what each measures, its
 * positional parameters and their validation. Parameters reach bpftrace as argv elements ($1, $2,
 * ...), never by editing the script text, and nothing here builds a shell string.
 */
import { usageError } from '../../errors.js';
import { packagePath } from '../../util/paths.js';
import type { BpfOutput } from './model.js';

export type ScriptName = 'runqlat' | 'offcpu' | 'syscalls' | 'biolatency' | 'tcpretrans' | 'softirq' | 'hardirq' | 'reclaim' | 'gc' | 'oncpu';

/** A positional parameter, in the order the script reads them. */
export type ParamName = 'tgid' | 'seconds' | 'path';

export interface ScriptSpec {
  name: ScriptName;
  measures: string;
  /** Positional parameters: $1, $2, ... */
  params: readonly ParamName[];
  /** Whether tgid 0 (every process) is allowed. */
  allProcesses: boolean;
  /** Output maps the analysis relies on (a contract with the .bt file). */
  maps: readonly string[];
  /**
   * Probes bpftrace attaches, not counting BEGIN/END (bpftrace 0.17 counts END, newer ones may not).
   * Fewer means one was skipped: 0.17 silently drops a uprobe whose symbol is missing.
   */
  probes: number;
}

const spec = (s: ScriptSpec) => s;

export const SCRIPTS: Readonly<Record<ScriptName, ScriptSpec>> = {
  runqlat: spec({ name: 'runqlat', measures: 'run-queue latency of the target threads (wakeup/preemption to running)', params: ['tgid', 'seconds'], allProcesses: true, maps: ['@runq_us', '@runq_stats'], probes: 4 }),
  offcpu: spec({ name: 'offcpu', measures: 'off-CPU sleep time of the target threads by kernel+user stack (waits >= 1 ms)', params: ['tgid', 'seconds'], allProcesses: false, maps: ['@offcpu_us'], probes: 2 }),
  syscalls: spec({ name: 'syscalls', measures: 'latency of write, pwrite64, fsync, fdatasync and sync_file_range of the target', params: ['tgid', 'seconds'], allProcesses: false, maps: ['@sync_us', '@sync_stats'], probes: 11 }),
  biolatency: spec({ name: 'biolatency', measures: 'block request issue-to-completion latency by device (host-wide)', params: ['seconds'], allProcesses: true, maps: ['@bio_us', '@bio_stats'], probes: 3 }),
  tcpretrans: spec({ name: 'tcpretrans', measures: 'TCP data and SYN-ACK retransmissions by connection (host-wide, every netns)', params: ['seconds'], allProcesses: true, maps: ['@retrans'], probes: 3 }),
  softirq: spec({ name: 'softirq', measures: 'softirq handler time per vector and CPU, raise-to-run latency (host-wide)', params: ['seconds'], allProcesses: true, maps: ['@softirq_us', '@softirq_count', '@softirq_lat_us'], probes: 4 }),
  hardirq: spec({ name: 'hardirq', measures: 'hard IRQ handler time per IRQ and handler (host-wide)', params: ['seconds'], allProcesses: true, maps: ['@hardirq_us', '@hardirq_max_us', '@hardirq_count'], probes: 3 }),
  reclaim: spec({ name: 'reclaim', measures: 'direct and memory-cgroup reclaim stalls', params: ['tgid', 'seconds'], allProcesses: true, maps: ['@direct_reclaim_us', '@direct_reclaim_stats', '@memcg_reclaim_us', '@memcg_reclaim_stats'], probes: 5 }),
  gc: spec({ name: 'gc', measures: 'Go GC starts and stop-the-world pauses (uprobes on runtime functions)', params: ['tgid', 'seconds', 'path'], allProcesses: false, maps: ['@gc_starts', '@stw_count', '@stw_us'], probes: 4 }),
  oncpu: spec({ name: 'oncpu', measures: 'on-CPU stacks of the target at 99 Hz', params: ['tgid', 'seconds'], allProcesses: false, maps: ['@oncpu'], probes: 2 }),
};

export const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];

/** Absolute path of a shipped script (scripts/ ships in the npm package beside dist/). */
export function scriptFile(name: ScriptName): string {
  return packagePath('scripts', 'bpftrace', `${name}.bt`);
}

export interface ScriptParams {
  /** Target process id (thread group id); 0 = every process where the script allows it. */
  tgid?: number;
  seconds: number;
  /** The target's executable for uprobes; default `/proc/<tgid>/exe`. */
  path?: string;
}

/** Linux's PID_MAX_LIMIT: pids are below 2^22 on 64-bit. */
export const MAX_PID = 4_194_304;
export const MAX_SECONDS = 3600;

/** The positional arguments ($1, $2, ...) for a script, validated. */
export function scriptArgs(name: ScriptName, p: ScriptParams): string[] {
  const s = SCRIPTS[name];
  if (!s) throw usageError(`unknown bpftrace script ${JSON.stringify(name)}`, `one of: ${SCRIPT_NAMES.join(', ')}`);
  return s.params.map((param) => {
    switch (param) {
      case 'tgid':
        return String(validTgid(p.tgid, s));
      case 'seconds':
        return String(validSeconds(p.seconds));
      case 'path':
        return validPath(p.path ?? `/proc/${validTgid(p.tgid, s)}/exe`);
    }
  });
}

/** Everything runBpftrace needs for a catalogue script. */
export function scriptInvocation(name: ScriptName, p: ScriptParams): { script: string; args: string[]; seconds: number } {
  return { script: scriptFile(name), args: scriptArgs(name, p), seconds: p.seconds };
}

function validTgid(tgid: number | undefined, s: ScriptSpec): number {
  const min = s.allProcesses ? 0 : 1;
  if (tgid === undefined || !Number.isInteger(tgid) || tgid < min || tgid >= MAX_PID) {
    throw usageError(`${s.name}.bt needs a process id between ${min} and ${MAX_PID - 1}, got ${String(tgid)}`, s.allProcesses ? '0 traces every process' : undefined);
  }
  return tgid;
}

function validSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
    throw usageError(`bpftrace capture seconds must be a whole number from 1 to ${MAX_SECONDS}, got ${String(seconds)}`);
  }
  return seconds;
}

/**
 * An absolute path of plain characters. bpftrace expands a positional parameter inside an attach
 * point and parses the result again, so `:`, `,`, `*`, quotes or spaces could change which probes
 * attach; `..` is refused to keep the path what it says.
 */
export function validPath(path: string): string {
  if (path.length > 4096 || !/^\/[A-Za-z0-9._+\-/]*$/.test(path) || path.split('/').includes('..')) {
    throw usageError(`unsafe executable path for uprobes: ${JSON.stringify(path)}`, 'give an absolute path of letters, digits and . _ + - / (or omit it to use /proc/<pid>/exe)');
  }
  return path;
}

/**
 * A warning when bpftrace attached fewer probes than the script has, e.g. gc.bt on a Go binary
 * without a symbol table (-ldflags=-s): the maps then read as "nothing happened" when nothing was seen.
 */
export function missingProbes(name: ScriptName, out: BpfOutput): string | undefined {
  const want = SCRIPTS[name].probes;
  if (out.attachedProbes === undefined || out.attachedProbes >= want) return undefined;
  const why = name === 'gc' ? ': the binary may have no symbol table (built with -ldflags=-s) or is not a Go program' : '';
  return `${name}.bt attached ${out.attachedProbes} of ${want} probes${why}`;
}
