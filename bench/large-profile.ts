/**
 * The benchmark's large CPU profile, derived from REAL captures only.
 *
 * How the file is made: every real CPU profile recorded from the Go lab service
 * (fixtures/bundles/<scenario>/pprof/<window>/*.pb.gz whose sample types are samples/count +
 * cpu/nanoseconds, sorted by path) is decoded with pprof-format. Its mappings, functions and
 * locations are copied once into one merged profile (ids renumbered, strings re-interned). Then
 * copies are appended round-robin over the captures until the encoded profile is ≥ 50 MiB: copy N
 * repeats every sample of capture N mod K unchanged (same leaf-first stack, same values, same
 * labels) plus
 *   - one synthetic root frame `capture_N` (its own Function and Location ids) appended at the
 *     root end of locationId, so no two copies share a stack and pprof cannot collapse them;
 *   - a string label `capture=N`, like pprof.Labels a Go service would set.
 * Nothing else is invented: frame names, stack shapes and value distributions are the lab's.
 * The output is deterministic (same inputs → same bytes; gzip without a timestamp) and is cached
 * under bench/.cache/ with a manifest of the inputs' hashes, rebuilt when missing or stale.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Function as PFunction, Label, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';

/** 50 MiB of uncompressed protobuf: the brief's "≥ 50 MB" in either reading of MB. */
export const MIN_DECODED_BYTES = 50 * 1024 * 1024;
/** Bump when the derivation changes, so cached files are rebuilt. */
const RECIPE = 'capture-root-v1';

export interface LargeProfile {
  /** The gzipped profile. */
  file: string;
  gzBytes: number;
  decodedBytes: number;
  samples: number;
  copies: number;
  /** The real captures it was derived from (paths relative to the package root). */
  sources: string[];
  /** Whether this run built it (false: reused from the cache). */
  built: boolean;
}

interface Manifest extends Omit<LargeProfile, 'file' | 'built'> {
  recipe: string;
  minBytes: number;
  inputs: string;
}

/** Every real CPU profile under `bundlesDir`/&ast;/pprof/&ast;/, sorted; other kinds are filtered later by sample type. */
export async function findCaptureFiles(bundlesDir: string): Promise<string[]> {
  if (!existsSync(bundlesDir)) return [];
  const out: string[] = [];
  for (const scenario of (await readdir(bundlesDir)).sort()) {
    const pprofDir = path.join(bundlesDir, scenario, 'pprof');
    if (!existsSync(pprofDir)) continue;
    for (const window of (await readdir(pprofDir)).sort()) {
      const dir = path.join(pprofDir, window);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // not a directory
      }
      for (const name of names.sort()) if (name.endsWith('.pb.gz')) out.push(path.join(dir, name));
    }
  }
  return out;
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const num = (v: number | bigint) => (typeof v === 'bigint' ? Number(v) : v);

/** A real capture, already re-homed into the merged profile's id and string spaces. */
interface Template {
  name: string;
  durationNanos: number;
  samples: Array<{ locationId: number[]; value: Array<number | bigint>; label: Label[] }>;
}

/** Decodes `bytes`; null unless it is a non-empty Go CPU profile (samples/count, cpu/nanoseconds). */
function decodeCpu(bytes: Uint8Array): Profile | null {
  const p = Profile.decode(isGzip(bytes) ? gunzipSync(bytes) : bytes);
  const s = p.stringTable.strings;
  const types = p.sampleType.map((t) => `${s[num(t.type)]}/${s[num(t.unit)]}`).join(',');
  return types === 'samples/count,cpu/nanoseconds' && p.sample.length > 0 ? p : null;
}

/**
 * Merges real CPU captures into one profile of at least `minBytes` encoded bytes (see the file
 * comment). `captures` must be in a stable order for the output to be deterministic.
 */
export function mergeCaptures(captures: Array<{ name: string; bytes: Uint8Array }>, minBytes = MIN_DECODED_BYTES) {
  const strings = new StringTable();
  const S = (x: string) => strings.dedup(x);
  const out = new Profile({
    sampleType: [new ValueType({ type: S('samples'), unit: S('count') }), new ValueType({ type: S('cpu'), unit: S('nanoseconds') })],
    periodType: new ValueType({ type: S('cpu'), unit: S('nanoseconds') }),
    stringTable: strings,
  });
  const templates: Template[] = [];
  let mappingIds = 0;
  let functionIds = 0;
  let locationIds = 0;
  let timeNanos = 0;
  for (const c of captures) {
    const p = decodeCpu(c.bytes);
    if (!p) continue;
    const src = p.stringTable.strings;
    const str = (i: number | bigint) => (num(i) ? S(src[num(i)] ?? '') : 0);
    const mapping = new Map<number, number>();
    for (const m of p.mapping) {
      mapping.set(num(m.id), ++mappingIds);
      out.mapping.push(new Mapping({ ...m, id: mappingIds, filename: str(m.filename), buildId: str(m.buildId) }));
    }
    const fn = new Map<number, number>();
    for (const f of p.function) {
      fn.set(num(f.id), ++functionIds);
      out.function.push(new PFunction({ ...f, id: functionIds, name: str(f.name), systemName: str(f.systemName), filename: str(f.filename) }));
    }
    const loc = new Map<number, number>();
    for (const l of p.location) {
      loc.set(num(l.id), ++locationIds);
      const line = l.line.map((x) => ({ functionId: fn.get(num(x.functionId)) ?? 0, line: x.line, column: x.column }));
      out.location.push(new Location({ id: locationIds, mappingId: mapping.get(num(l.mappingId)) ?? 0, address: l.address, line, isFolded: l.isFolded }));
    }
    const samples = p.sample.map((s) => ({
      locationId: s.locationId.map((id) => loc.get(num(id))!),
      value: s.value,
      label: s.label.map((l) => new Label({ key: str(l.key), str: str(l.str), num: l.num, numUnit: str(l.numUnit) })),
    }));
    if (!out.period) out.period = p.period;
    const t = num(p.timeNanos);
    if (t && (!timeNanos || t < timeNanos)) timeNanos = t;
    templates.push({ name: c.name, durationNanos: num(p.durationNanos), samples });
  }
  if (templates.length === 0) throw new Error('no real CPU profile with samples among the captures');

  const captureKey = S('capture');
  let size = out.length;
  let copies = 0;
  let durationNanos = 0;
  for (let n = 0; size < minBytes; n++, copies++) {
    const t = templates[n % templates.length];
    const root = `capture_${n}`;
    out.function.push(new PFunction({ id: ++functionIds, name: S(root), systemName: S(root), filename: S('p99sleuth/bench/synthetic') }));
    out.location.push(new Location({ id: ++locationIds, line: [{ functionId: functionIds }] }));
    const rootLoc = locationIds;
    const label = new Label({ key: captureKey, str: S(String(n)) });
    size += 40; // the new function, location and two strings, roughly
    for (const s of t.samples) {
      const sample = new Sample({ locationId: [...s.locationId, rootLoc], value: s.value, label: [...s.label, label] });
      out.sample.push(sample);
      const len = sample.length;
      size += 1 + (len < 128 ? 1 : len < 16384 ? 2 : 3) + len; // tag, length prefix, body
    }
    durationNanos += t.durationNanos;
  }
  out.timeNanos = timeNanos;
  out.durationNanos = durationNanos;
  const encoded = out.encode();
  return { encoded, samples: out.sample.length, copies, sources: templates.map((t) => t.name) };
}

/** Returns the cached large profile, building it from the real captures under `bundlesDir` when missing or stale. */
export async function ensureLargeProfile(opts: { bundlesDir: string; cacheDir: string; root: string; minBytes?: number }): Promise<LargeProfile> {
  const minBytes = opts.minBytes ?? MIN_DECODED_BYTES;
  const files = await findCaptureFiles(opts.bundlesDir);
  if (files.length === 0) throw new Error(`no real pprof captures under ${opts.bundlesDir} (record them with scripts/make-fixtures.ts)`);
  const captures = await Promise.all(files.map(async (f) => ({ name: path.relative(opts.root, f), bytes: await readFile(f) })));
  const h = createHash('sha256').update(RECIPE).update(String(minBytes));
  for (const c of captures) h.update(c.name).update('\0').update(c.bytes);
  const inputs = h.digest('hex');

  const file = path.join(opts.cacheDir, 'large-cpu.pb.gz');
  const manifestFile = path.join(opts.cacheDir, 'large-cpu.json');
  if (existsSync(file) && existsSync(manifestFile)) {
    const m = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
    if (m.inputs === inputs) return { file, gzBytes: m.gzBytes, decodedBytes: m.decodedBytes, samples: m.samples, copies: m.copies, sources: m.sources, built: false };
  }
  const merged = mergeCaptures(captures, minBytes);
  if (merged.encoded.length < minBytes) throw new Error(`merged profile is ${merged.encoded.length} bytes, below ${minBytes}`);
  const gz = gzipSync(merged.encoded, { level: 6 });
  await mkdir(opts.cacheDir, { recursive: true });
  // Write then rename, so an interrupted run never leaves a truncated profile behind.
  await writeFile(file + '.tmp', gz);
  await rename(file + '.tmp', file);
  const m: Manifest = { recipe: RECIPE, minBytes, inputs, gzBytes: gz.length, decodedBytes: merged.encoded.length, samples: merged.samples, copies: merged.copies, sources: merged.sources };
  await writeFile(manifestFile, JSON.stringify(m, null, 2) + '\n');
  return { file, gzBytes: m.gzBytes, decodedBytes: m.decodedBytes, samples: m.samples, copies: m.copies, sources: m.sources, built: true };
}
