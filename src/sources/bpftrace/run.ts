/**
 * Running one bpftrace script: argv only (no shell), a timeout of the script's own duration plus a
 * startup margin, SIGTERM then SIGKILL, killed on abort, output drained and returned whole.
 * Failures become a BpftraceError (a SleuthError) with a classified reason.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { SleuthError, describe } from '../../errors.js';

/**
 * What starts bpftrace. Locally `{file: 'bpftrace', prefixArgs: []}`; through Kubernetes e.g.
 * `{file: 'kubectl', prefixArgs: ['exec', POD, '--', 'bpftrace'], inlineScript: true}`.
 */
export interface BpftraceCommand {
  file: string;
  prefixArgs: string[];
  /** Pass the program text with `-e` instead of the script's path (the path may not exist remotely). */
  inlineScript?: boolean;
  /**
   * A failure of the command in front (kubectl refused, unreachable, not installed) rather than of
   * bpftrace: bpftrace's own classification would give the wrong advice ("run as root").
   */
  transportError?: (r: ExecOutcome) => SleuthError | undefined;
}

/** The outcome of one child process, whatever ran it. */
export interface ExecOutcome {
  stdout: string;
  stderr: string;
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  canceled: boolean;
  /** Set when the process could not be started (`ENOENT`, `EACCES`). */
  spawnErrorCode?: string;
}

export interface ExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onSpawn?: (pid: number) => void;
}

export type Exec = (file: string, args: string[], opts: ExecOptions) => Promise<ExecOutcome>;

export interface RunOptions {
  /** Path of the .bt file (scripts.ts: scriptFile / scriptInvocation). */
  script: string;
  /** Positional parameters (scripts.ts: scriptArgs). */
  args: string[];
  /** How long the script traces before it exits by itself. */
  seconds: number;
  /** The bpftrace binary when no `command` is given; default `bpftrace` from PATH. */
  bpftrace?: string;
  format: 'text' | 'json';
  signal?: AbortSignal;
  command?: BpftraceCommand;
  /** Allowance for compiling and attaching before the script's clock starts (bpftrace needs 0.5-1 s). */
  startupMarginMs?: number;
  /** Told the child's pid once it runs. */
  onSpawn?: (pid: number) => void;
  exec?: Exec;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type BpftraceFailure = 'not-installed' | 'permission' | 'probe-missing' | 'attach-failed' | 'timeout' | 'aborted' | 'failed';

export class BpftraceError extends SleuthError {
  constructor(
    readonly reason: BpftraceFailure,
    message: string,
    hint?: string,
    /** bpftrace's stderr, noise removed. */
    readonly stderr = '',
  ) {
    super(reason === 'aborted' ? 'interrupted' : 'unavailable', message, hint);
  }
}

/** The argv after the command prefix: `[-f json] (script | -e program) args...`. */
export async function bpftraceArgv(o: Pick<RunOptions, 'script' | 'args' | 'format' | 'command'>): Promise<string[]> {
  const program = o.command?.inlineScript ? ['-e', await readFile(o.script, 'utf8')] : [o.script];
  return [...(o.format === 'json' ? ['-f', 'json'] : []), ...program, ...o.args];
}

/** Run a script to completion and return its output (parse it with parse.ts). */
export async function runBpftrace(o: RunOptions): Promise<RunResult> {
  const cmd = o.command ?? { file: o.bpftrace ?? 'bpftrace', prefixArgs: [] };
  const argv = [...cmd.prefixArgs, ...(await bpftraceArgv(o))];
  const label = `bpftrace ${o.script.split('/').pop()}`;
  if (o.signal?.aborted) throw new BpftraceError('aborted', `${label}: interrupted before it started`);
  const started = Date.now();
  const timeoutMs = o.seconds * 1000 + (o.startupMarginMs ?? 5000);
  const r = await (o.exec ?? execaExec)(cmd.file, argv, { timeoutMs, signal: o.signal, onSpawn: o.onSpawn });
  const durationMs = Date.now() - started;
  const stderr = cleanStderr(r.stderr);
  if (r.canceled || o.signal?.aborted) throw new BpftraceError('aborted', `${label}: interrupted`, undefined, stderr);
  if (r.timedOut) {
    throw new BpftraceError('timeout', `${label}: still running after ${Math.round(timeoutMs / 1000)} s and was killed`, 'the script should have ended by itself: is the system overloaded, or bpftrace stuck compiling?', stderr);
  }
  if (r.spawnErrorCode || r.exitCode !== 0) throw cmd.transportError?.(r) ?? classify(label, cmd.file, r, stderr);
  return { stdout: r.stdout, stderr, durationMs };
}

// The first match wins; messages are bpftrace's own (0.17 and later).
const RULES: Array<[RegExp, BpftraceFailure, string, string | undefined]> = [
  [/only supports running as the root user|Operation not permitted|Permission denied|CAP_BPF|CAP_SYS_ADMIN/i, 'permission', 'not permitted to load BPF programs', 'run as root (or with CAP_BPF and CAP_PERFMON)'],
  [/failed to open file/i, 'failed', 'cannot read the script', 'is the p99sleuth installation complete (scripts/bpftrace)?'],
  [/Error attaching probe|Failed to attach|Error loading program/i, 'attach-failed', 'could not attach a probe', 'check dmesg and `bpftrace --info` (kernel features, lockdown)'],
  [/tracepoint not found|does not exist or is not executable|No probes to attach|Could not resolve symbol|requires BTF|BTF is not available/i, 'probe-missing', 'a probe target is missing on this system', 'the kernel lacks the tracepoint, tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing), or the target binary is gone'],
];

function classify(label: string, file: string, r: ExecOutcome, stderr: string): BpftraceError {
  if (r.spawnErrorCode === 'ENOENT') {
    return new BpftraceError('not-installed', `${label}: ${file} is not installed or not on PATH`, 'install bpftrace (e.g. apt-get install bpftrace) or point --bpftrace at it');
  }
  if (r.spawnErrorCode) return new BpftraceError('permission', `${label}: cannot start ${file} (${r.spawnErrorCode})`, undefined, stderr);
  const last = stderr.split('\n').filter(Boolean).slice(-3).join(' | ') || `exit code ${r.exitCode ?? r.signal}`;
  for (const [re, reason, what, hint] of RULES) if (re.test(stderr)) return new BpftraceError(reason, `${label}: ${what}: ${last}`, hint, stderr);
  return new BpftraceError('failed', `${label} failed: ${last}`, undefined, stderr);
}

/** Drops the harmless `couldn't set RLIMIT_MEMLOCK` line printed where CAP_SYS_RESOURCE is missing. */
export function cleanStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/couldn't set RLIMIT_MEMLOCK/.test(l))
    .join('\n')
    .trim();
}

/** The default Exec: execa with argv, buffered output (drained for us), SIGTERM then SIGKILL. */
export const execaExec: Exec = async (file, args, opts) => {
  const child = execa(file, args, {
    reject: false,
    stdin: 'ignore',
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    // bpftrace prints its maps on SIGTERM; give it a moment before SIGKILL.
    forceKillAfterDelay: 3000,
    maxBuffer: 256 * 1024 * 1024,
    stripFinalNewline: false,
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  const r = await child;
  const code = (r.cause as NodeJS.ErrnoException | undefined)?.code;
  return {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut: r.timedOut,
    canceled: r.isCanceled,
    spawnErrorCode: r.exitCode === undefined && !r.timedOut && !r.isCanceled && typeof code === 'string' ? code : undefined,
  };
};

const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Whether bpftrace can run here: the binary answers `--version` and, locally, we are root and tracefs is mounted. */
export async function bpftraceAvailable(o: { bpftrace?: string; command?: BpftraceCommand; exec?: Exec } = {}): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const cmd = o.command ?? { file: o.bpftrace ?? 'bpftrace', prefixArgs: [] };
  let r: ExecOutcome;
  try {
    r = await (o.exec ?? execaExec)(cmd.file, [...cmd.prefixArgs, '--version'], { timeoutMs: 10_000 });
  } catch (err) {
    return { ok: false, reason: describe(err) };
  }
  const transport = r.spawnErrorCode || r.exitCode !== 0 ? cmd.transportError?.(r) : undefined;
  if (transport) return { ok: false, reason: `${transport.message}${transport.hint ? ` (${transport.hint})` : ''}` };
  if (r.spawnErrorCode === 'ENOENT') return { ok: false, reason: `${cmd.file} is not installed or not on PATH` };
  if (r.exitCode !== 0) return { ok: false, reason: `${cmd.file} --version failed: ${cleanStderr(r.stderr) || `exit ${r.exitCode ?? r.signal}`}` };
  // Remotely (a command prefix) privileges and tracefs are the remote side's; it reports them when it runs.
  if (!o.command && process.geteuid?.() !== 0) return { ok: false, reason: 'bpftrace needs root (effective uid 0)' };
  if (!o.command && !TRACEFS.some((d) => existsSync(`${d}/events`))) {
    return { ok: false, reason: 'tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing' };
  }
  return { ok: true, version: r.stdout.trim() };
}
