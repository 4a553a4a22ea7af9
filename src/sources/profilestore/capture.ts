/**
 * Profiles of past windows from Parca or Pyroscope: for each window and kind, the store's merged
 * profile becomes `pprof/<window>/<kind>.pb.gz` and a `pprof.<kind>` collector, exactly as if it had
 * been captured live, so the loader, the rules and the diff flame graphs use it unchanged. A failure
 * fails only its own collectors, with a message naming the store, the call and what to do.
 */
import type { BundleWriter } from '../../evidence/bundle.js';
import type { CollectorEntry, TimeWindow, WindowName } from '../../evidence/manifest.js';
import { PROFILE_SAMPLE_TYPE, type ProfileKind } from '../../evidence/model.js';
import { SleuthError, describe } from '../../errors.js';
import type { CollectorHooks } from '../pprof/capture.js';
import type { Range, StoreClient } from './client.js';
import { normaliseMerged } from './merged.js';
import type { ProfileStore } from './store.js';
import { chooseType, listTypes, type StoreProfileType } from './types.js';

export interface StoredProfilesRequest {
  /** Label matchers of the service in the store, e.g. `{service_name="checkout"}`. */
  selector: string;
  /** Either may be left out: e.g. only the baseline when the spike is ongoing and captured live. */
  windows: { spike?: TimeWindow; baseline?: TimeWindow };
  kinds: ProfileKind[];
}

/** Open a client for the store (its gRPC/proto code is loaded here, on first use). */
export async function openStore(store: ProfileStore): Promise<StoreClient> {
  if (store.kind === 'parca') return (await import('./parca.js')).parcaClient(store);
  return (await import('./pyroscope.js')).pyroscopeClient(store);
}

/** Fetch merged profiles of every requested kind for each window given; one `pprof.<kind>` collector per kind and window. */
export async function captureStoredProfiles(store: ProfileStore, req: StoredProfilesRequest, writer: BundleWriter, signal?: AbortSignal, hooks: CollectorHooks = {}): Promise<void> {
  const windows = (['baseline', 'spike'] as const).flatMap((w) => (req.windows[w] ? [{ window: w as WindowName, range: toRange(req.windows[w]!) }] : []));
  if (windows.length === 0 || req.kinds.length === 0) return;
  const started = Date.now();
  let client: StoreClient | undefined;
  let types: StoreProfileType[];
  try {
    client = await openStore(store);
    const all: Range = { startMs: Math.min(...windows.map((w) => w.range.startMs)), endMs: Math.max(...windows.map((w) => w.range.endMs)) };
    types = await client.profileTypes(all, signal);
  } catch (err) {
    // Without the list of types nothing can be asked: every collector fails with the one reason.
    client?.close();
    for (const w of windows) for (const kind of req.kinds) finish(entryFor(kind, w.window, started), err, writer, hooks);
    return;
  }
  try {
    await Promise.all(windows.flatMap((w) => req.kinds.map((kind) => captureKind(client!, store, req.selector, kind, w.window, w.range, types, writer, signal, hooks))));
  } finally {
    client.close();
  }
}

async function captureKind(
  client: StoreClient,
  store: ProfileStore,
  selector: string,
  kind: ProfileKind,
  window: WindowName,
  range: Range,
  types: readonly StoreProfileType[],
  writer: BundleWriter,
  signal: AbortSignal | undefined,
  hooks: CollectorHooks,
): Promise<void> {
  const entry = entryFor(kind, window, Date.now());
  hooks.start?.(`${entry.name} (${window})`);
  try {
    const choice = chooseType(kind, types, store.kind);
    if (!choice) {
      entry.status = 'not-enabled';
      entry.message = `${store.shown} holds no ${kind} profiles (its types: ${listTypes(types)})`;
      return finish(entry, undefined, writer, hooks);
    }
    const { type } = choice;
    entry.meta = { source: store.kind, store: store.shown, profileType: type.id, selector };
    if (choice.temporality === 'cumulative') {
      entry.status = 'not-enabled';
      entry.message = `${store.shown} keeps ${type.id} cumulative since process start, so a window of it cannot be merged — set \`delta: true\` for ${type.name} in Parca's scrape profiling_config`;
      return finish(entry, undefined, writer, hooks);
    }
    const label = `${store.shown}: ${type.id}${selector}`;
    const [raw, snapshots] = await Promise.all([
      client.merged(type, selector, range, signal),
      choice.temporality === 'gauge' ? client.snapshotsPerSeries(type, selector, range, signal) : Promise.resolve(1),
    ]);
    const merged = normaliseMerged(raw, { ...range, snapshots: Math.max(1, snapshots), cpuFromSamples: choice.cpuFromSamples, source: label });
    if (merged.samples === 0) {
      throw new SleuthError(
        'unavailable',
        `${label}: no profiles between ${iso(range.startMs)} and ${iso(range.endMs)}`,
        `check --profiles-selector against the store's labels and that it kept data this old; types it holds: ${listTypes(types)}`,
      );
    }
    const expected = PROFILE_SAMPLE_TYPE[kind];
    if (!merged.sampleTypes.includes(expected)) {
      throw new SleuthError('input', `${label}: the store answered a profile of ${merged.sampleTypes.join(', ') || 'no sample type'}, not ${expected}`, `report this store version; types it lists: ${listTypes(types)}`);
    }
    entry.artifacts.push(await writer.writeArtifact(`pprof/${window}/${kind}.pb.gz`, merged.bytes));
    const seconds = (range.endMs - range.startMs) / 1000;
    // Delta kinds accumulate over the window; gauges are the mean of the snapshots in it.
    entry.meta = { ...entry.meta, ...(choice.temporality === 'gauge' ? { snapshots: round1(snapshots) } : { seconds }) };
    entry.message = choice.temporality === 'gauge' ? `mean of ${round1(snapshots)} snapshots from ${store.shown}` : `merged over ${seconds} s from ${store.shown}`;
    finish(entry, undefined, writer, hooks);
  } catch (err) {
    finish(entry, err, writer, hooks);
  }
}

function entryFor(kind: ProfileKind, window: WindowName, started: number): CollectorEntry {
  return { name: `pprof.${kind}`, window, status: 'ok', artifacts: [], startedAt: new Date(started).toISOString() };
}

function finish(entry: CollectorEntry, err: unknown, writer: BundleWriter, hooks: CollectorHooks): void {
  if (err !== undefined) {
    entry.status = 'failed';
    entry.artifacts = [];
    const e = err instanceof SleuthError ? err : undefined;
    entry.message = e?.kind === 'interrupted' ? 'interrupted' : `${describe(err)}${e?.hint ? ` — ${e.hint}` : ''}`;
  }
  entry.durationMs = Date.now() - Date.parse(entry.startedAt ?? new Date().toISOString());
  writer.record(entry);
  hooks.done?.(entry);
}

const toRange = (w: TimeWindow): Range => ({ startMs: Date.parse(w.start), endMs: Date.parse(w.end) });
const iso = (ms: number) => new Date(ms).toISOString();
const round1 = (x: number) => Math.round(x * 10) / 10;
