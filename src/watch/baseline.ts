/**
 * The rolling calm-period baseline of `watch`: a small bundle of profiles only (CPU for the capture
 * length, one heap, a few goroutine snapshots; no kernel tracing), and its copy into each spike
 * bundle as window "baseline", so `analyze` diffs the spike against a calm period of the same process.
 */
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BundleWriter, openBundle } from '../evidence/bundle.js';
import type { CollectorEntry, TargetDescription } from '../evidence/manifest.js';
import type { ProfileKind } from '../evidence/model.js';
import { SleuthError, describe } from '../errors.js';
import { capturePprofWindow, type CollectorHooks, type PprofTarget } from '../sources/pprof/capture.js';

/** Bounded overhead: what a baseline captures. */
export const BASELINE_KINDS: ProfileKind[] = ['cpu', 'heap', 'goroutine'];
const GOROUTINE_SNAPSHOTS = 3;

/** Capture a baseline bundle at `dir`; `ok` when at least one profile was captured. */
export async function captureBaseline(pprof: PprofTarget, dir: string, seconds: number, target: TargetDescription, signal: AbortSignal, hooks: CollectorHooks = {}): Promise<{ dir: string; ok: boolean; message?: string }> {
  const writer = await BundleWriter.create(dir);
  const start = new Date().toISOString();
  await capturePprofWindow(pprof, { window: 'baseline', seconds, goroutineSnapshots: GOROUTINE_SNAPSHOTS, kinds: BASELINE_KINDS }, writer, signal, hooks);
  const window = { start, end: new Date().toISOString() };
  const ok = writer.collectors.some((c) => c.status === 'ok');
  const failed = writer.collectors.filter((c) => c.status !== 'ok').map((c) => `${c.name}: ${c.message ?? c.status}`);
  // The manifest schema needs a spike window; this bundle only ever lends its baseline profiles.
  const done = await writer.finish({
    complete: !signal.aborted && failed.length === 0,
    incompleteReason: signal.aborted ? 'interrupted (SIGINT/SIGTERM)' : failed.length ? failed.join('; ') : undefined,
    target: { ...target, watchBaseline: true },
    windows: { spike: window, baseline: window },
  });
  return { dir: done, ok, message: ok ? undefined : failed.join('; ') || 'no profile captured' };
}

/**
 * Copy the baseline bundle's ok profiles into the spike bundle as window "baseline" and record
 * them in its manifest. Profiles the spike bundle already has for the baseline (from a profile
 * store) are kept, not replaced. Returns the collector names added.
 */
export async function attachBaseline(spikeDir: string, baselineDir: string): Promise<string[]> {
  const spike = await openBundle(spikeDir);
  const base = await openBundle(baselineDir);
  // A baseline of another pod (the spike went to the worst one) is not the same process's calm.
  const podOf = (kubernetes: unknown) => (kubernetes as { pod?: string } | undefined)?.pod;
  if (podOf(spike.manifest.target.kubernetes) !== podOf(base.manifest.target.kubernetes)) return [];
  const have = new Set(spike.manifest.collectors.filter((c) => c.window === 'baseline' && c.status === 'ok').map((c) => c.name));
  const added: CollectorEntry[] = [];
  for (const c of base.manifest.collectors) {
    if (c.window !== 'baseline' || c.status !== 'ok' || !c.name.startsWith('pprof.') || have.has(c.name)) continue;
    for (const rel of c.artifacts) {
      const to = path.join(spikeDir, rel);
      await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      await copyFile(path.join(baselineDir, rel), to).catch((err: unknown) => {
        throw new SleuthError('io', `cannot copy the baseline profile ${rel} into ${spikeDir}: ${describe(err)}`, 'check free space and permissions of --out-dir');
      });
    }
    added.push({ ...c, message: `calm-period baseline captured by watch (${path.basename(baselineDir)})`, meta: { ...c.meta, from: path.basename(baselineDir) } });
  }
  if (!added.length) return [];
  const m = spike.manifest;
  // A baseline window the capture already chose (Prometheus's calm stretch) stays: its series were
  // fetched for it. Without one, the window is the calm period the profiles were taken in.
  const updated = { ...m, windows: { ...m.windows, baseline: m.windows.baseline ?? base.manifest.windows.baseline ?? base.manifest.windows.spike }, collectors: [...m.collectors.filter((c) => !(c.window === 'baseline' && added.some((a) => a.name === c.name))), ...added] };
  const file = path.join(spikeDir, 'manifest.json');
  try {
    await writeFile(`${file}.tmp`, JSON.stringify(updated, null, 2) + '\n', { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  } catch (err) {
    throw new SleuthError('io', `cannot update ${file}: ${describe(err)}`, 'check free space and permissions of --out-dir');
  }
  return added.map((c) => c.name);
}
