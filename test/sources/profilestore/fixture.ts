/** Shared test material: real pprof captures from the lab bundles, windows, and a bundle round trip. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BundleWriter, openBundle } from '../../../src/evidence/bundle.js';
import type { CollectorEntry, TimeWindow } from '../../../src/evidence/manifest.js';
import { loadEvidence } from '../../../src/evidence/load.js';
import type { Evidence } from '../../../src/evidence/model.js';
import { parsePprof, sampleTypeIndex, totalOf } from '../../../src/sources/pprof/parse.js';
import { bundle, tmpDir } from '../../helpers.js';

/** A real gzipped profile of the lock-contention bundle (`cpu`, `goroutine-0`, `block`, …). */
export const gz = (window: 'baseline' | 'spike', file: string) => readFileSync(path.join(bundle('lock-contention'), 'pprof', window, `${file}.pb.gz`));
/** The same, uncompressed (Pyroscope answers a plain google.v1.Profile message). */
export const plain = (window: 'baseline' | 'spike', file: string) => gunzipSync(gz(window, file));

export const WINDOWS: { spike: TimeWindow; baseline: TimeWindow } = {
  baseline: { start: '2026-11-20T09:30:00.000Z', end: '2026-11-20T09:40:00.000Z' },
  spike: { start: '2026-11-20T10:00:00.000Z', end: '2026-11-20T10:05:00.000Z' },
};
export const ms = (iso: string) => Date.parse(iso);

/** Total of one sample type of a real fixture. */
export function fixtureTotal(window: 'baseline' | 'spike', file: string, type: string): number {
  const p = parsePprof(gz(window, file), file);
  return totalOf(p, sampleTypeIndex(p, type));
}

/** Run a capture into a fresh bundle, finish it, and load it the way `analyze` does. */
export async function roundTrip(capture: (w: BundleWriter) => Promise<void>): Promise<{ dir: string; collectors: CollectorEntry[]; ev: Evidence }> {
  const writer = await BundleWriter.create(path.join(await tmpDir(), 'bundle'));
  await capture(writer);
  const dir = await writer.finish({ complete: true, target: { kind: 'fixture', description: 'profile store test' }, windows: WINDOWS });
  const b = await openBundle(dir);
  return { dir, collectors: b.manifest.collectors, ev: await loadEvidence(b) };
}

export const byName = (collectors: CollectorEntry[], name: string, window: 'baseline' | 'spike') => {
  const c = collectors.find((x) => x.name === name && x.window === window);
  if (!c) throw new Error(`no collector ${name} (${window}) in ${collectors.map((x) => `${x.name}/${x.window}`).join(', ')}`);
  return c;
};
