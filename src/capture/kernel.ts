/**
 * Kernel evidence over the capture window, next to the pprof collectors and concurrent with them:
 * procfs/cgroup files read before and after (their deltas), and the bpftrace scripts. Each failing
 * collector is recorded with its reason; none of them stops the others.
 */
import type { BundleWriter } from '../evidence/bundle.js';
import type { CollectorEntry } from '../evidence/manifest.js';
import { SleuthError, describe } from '../errors.js';
import { sleep, type CollectorHooks } from '../sources/pprof/capture.js';
import { parseBpftrace } from '../sources/bpftrace/parse.js';
import { bpftraceAvailable, runBpftrace, type BpftraceCommand } from '../sources/bpftrace/run.js';
import { missingProbes, scriptInvocation, type ScriptName } from '../sources/bpftrace/scripts.js';
import { readProcfs, type FileReader, type ProcfsOptions } from '../sources/procfs/capture.js';
import { lowPriority } from '../util/priority.js';

export interface KernelCapture {
  pid: number;
  seconds: number;
  reader: FileReader;
  procfsOptions?: ProcfsOptions;
}

/** Read procfs/cgroup files, wait the window, read them again; both reads go into the bundle. */
export async function captureProcfs(o: KernelCapture, writer: BundleWriter, signal: AbortSignal, hooks: CollectorHooks = {}): Promise<void> {
  const started = Date.now();
  const entry: CollectorEntry = { name: 'procfs', window: 'spike', status: 'ok', artifacts: [], startedAt: new Date(started).toISOString() };
  hooks.start?.(entry.name);
  try {
    const before = await readProcfs(o.pid, o.reader, o.procfsOptions);
    if (!before['proc/stat']) throw new SleuthError('unavailable', 'cannot read /proc/stat');
    const t0 = Date.now();
    // Ctrl-C ends the window early; the second read still gives a valid, shorter delta.
    await sleep(o.seconds * 1000, signal).catch((err) => {
      if (!(err instanceof SleuthError && err.kind === 'interrupted')) throw err;
    });
    const after = await readProcfs(o.pid, o.reader, o.procfsOptions);
    const seconds = (Date.now() - t0) / 1000;
    for (const [when, files] of [['before', before], ['after', after]] as const) {
      for (const [key, text] of Object.entries(files)) entry.artifacts.push(await writer.writeArtifact(`procfs/${when}/${key}`, text));
    }
    entry.meta = { seconds };
    if (!after['pid/status']) entry.message = `pid ${o.pid} exited during the window: its own files are missing from the second read`;
  } catch (err) {
    entry.status = 'failed';
    entry.message = describe(err);
  }
  entry.durationMs = Date.now() - started;
  writer.record(entry);
  hooks.done?.(entry);
}

const STAGGER_MS = 250;

export interface BpfCapture {
  pid: number;
  seconds: number;
  scripts: ScriptName[];
  /** The bpftrace binary (default: bpftrace on PATH). */
  bpftrace?: string;
  /** How bpftrace is started elsewhere (kubectl exec into the node pod). */
  command?: BpftraceCommand;
}

/**
 * Run the bpftrace scripts concurrently for the window; each is one collector. When bpftrace cannot
 * run at all (missing, not root, no tracefs) every script fails with that one reason, without trying.
 */
export async function captureBpf(o: BpfCapture, writer: BundleWriter, signal: AbortSignal, hooks: CollectorHooks = {}): Promise<void> {
  const avail = await bpftraceAvailable({ bpftrace: o.bpftrace, command: o.command });
  await Promise.all(o.scripts.map(async (name, i) => {
    // Each bpftrace compiles its program at start (~0.2 CPU-s): ten at once saturate a small
    // machine for a second and show up in the very P99 being measured (bench/observer.ts). They
    // start a little apart, at the lowest CPU priority; their probes run in the kernel regardless.
    if (avail.ok && i > 0) await sleep(i * STAGGER_MS, signal).catch(() => undefined);
    const started = Date.now();
    // Later starters trace a little less, so that all end together.
    const seconds = Math.max(1, Math.round(o.seconds - (avail.ok ? (i * STAGGER_MS) / 1000 : 0)));
    const entry: CollectorEntry = { name: `bpftrace.${name}`, window: 'spike', status: 'ok', artifacts: [], startedAt: new Date(started).toISOString(), meta: { seconds } };
    hooks.start?.(entry.name);
    try {
      if (!avail.ok) throw new SleuthError('unavailable', avail.reason);
      const inv = scriptInvocation(name, { tgid: o.pid, seconds });
      // Through kubectl exec the start-up also pays the API round trips, on a busy node too.
      const r = await runBpftrace({ ...inv, format: 'text', bpftrace: o.bpftrace, command: o.command, signal, onSpawn: o.command ? undefined : lowPriority, startupMarginMs: o.command ? 20_000 : undefined });
      entry.artifacts.push(await writer.writeArtifact(`bpftrace/${name}.txt`, r.stdout));
      // bpftrace 0.17 drops a uprobe whose symbol is missing and still exits 0: zeros would lie.
      const short = missingProbes(name, parseBpftrace(r.stdout, name));
      if (short) {
        entry.status = 'failed';
        entry.message = short;
      }
    } catch (err) {
      entry.status = 'failed';
      entry.message = signal.aborted ? 'interrupted' : `${describe(err)}${err instanceof SleuthError && err.hint ? ` (${err.hint})` : ''}`;
    }
    entry.durationMs = Date.now() - started;
    writer.record(entry);
    hooks.done?.(entry);
  }));
}
