/**
 * Which flame graphs a report gets, and writing them: one per relevant profile (CPU and the waiting
 * profiles), a differential one when a baseline exists, each with its `.folded` beside it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CATALOGUE, type CauseId } from '../analysis/catalogue.js';
import type { Analysis } from '../analysis/flow.js';
import type { Evidence, ProfileKind } from '../evidence/model.js';
import { SleuthError } from '../errors.js';
import { diff, type Folded } from '../sources/pprof/fold.js';
import { isObserver, isRequestPath } from '../analysis/frames.js';
import { renderFlameGraph, toFolded } from './flamegraph/index.js';
import type { FlameAnnotation, FlameStack } from './flamegraph/model.js';

const KIND_TITLE: Record<ProfileKind, string> = {
  cpu: 'CPU',
  goroutine: 'Goroutines',
  mutex: 'Mutex contention (lock holders)',
  block: 'Where requests wait (block profile, request goroutines)',
  heap: 'Heap in use',
  allocs: 'Allocations',
};

/**
 * What each graph keeps: never our own capture (pprof handlers blocking for the capture window would
 * dominate the waiting profiles); for blocking, only request goroutines — idle pools and keep-alive
 * loops wait all the time and say nothing about latency.
 */
const KEEP: Record<ProfileKind, (frames: string[]) => boolean> = {
  cpu: (fr) => !isObserver(fr),
  goroutine: (fr) => !isObserver(fr),
  mutex: (fr) => !isObserver(fr),
  block: isRequestPath,
  heap: (fr) => !isObserver(fr),
  allocs: (fr) => !isObserver(fr),
};

function keep(f: Folded, kind: ProfileKind): Folded {
  const stacks = f.stacks.filter((s) => KEEP[kind](s.frames));
  return { ...f, stacks, total: stacks.reduce((t, s) => t + s.value, 0) };
}
const FLAME_KINDS: ProfileKind[] = ['cpu', 'goroutine', 'block', 'mutex', 'allocs'];

export interface WrittenGraphs {
  files: string[];
  byCause: Partial<Record<CauseId, string[]>>;
}

/** Write flame graphs (SVG + .folded, and a differential pair when a baseline exists) into `outDir`. */
export async function writeFlameGraphs(ev: Evidence, a: Analysis, outDir: string): Promise<WrittenGraphs> {
  const files: string[] = [];
  const byCause: WrittenGraphs['byCause'] = {};
  try {
    await mkdir(outDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new SleuthError('io', `cannot create ${outDir}: ${(err as Error).message}`, 'choose a writable --out directory');
  }
  const top = a.reported.slice(0, 3).map((r) => r.id);
  const write = async (name: string, data: string) => {
    const file = path.join(outDir, name);
    try {
      await writeFile(file, data, { mode: 0o600 });
    } catch (err) {
      throw new SleuthError('io', `cannot write ${file}: ${(err as Error).message}`, 'check free space and permissions of --out');
    }
    files.push(file);
    return file;
  };

  for (const kind of FLAME_KINDS) {
    const sp0 = ev.spike.profiles[kind];
    const sp = sp0 && { ...sp0, folded: keep(sp0.folded, kind) };
    if (!sp || sp.folded.total <= 0) continue;
    const causes = a.reported.filter((r) => r.profiles.includes(kind));
    const annotations: FlameAnnotation[] = causes.map((r) => ({ id: r.id, label: `${r.id} (score ${r.score.toFixed(2)})`, color: CATALOGUE[r.id].color, patterns: r.frames }));
    const subtitle = top.length ? `top causes: ${top.join(', ')} — ${a.verdict}` : a.verdict;
    const unit = sp.folded.sampleType.unit;
    const sampleType = sp.folded.sampleType.type;
    const title = `${KIND_TITLE[kind]} — spike — ${ev.manifest.target.description}`;
    const svg = await write(`${kind}.svg`, renderFlameGraph({ title, subtitle, unit, sampleType, stacks: sp.folded.stacks, annotations }));
    await write(`${kind}.folded`, toFolded(sp.folded.stacks));
    const mine = [svg];

    const bp0 = ev.baseline?.profiles[kind];
    const bp = bp0 && { ...bp0, folded: keep(bp0.folded, kind) };
    if (bp && bp.folded.total > 0) {
      // Delta profiles compare per second; snapshots (goroutines) compare as they are.
      const stacks: FlameStack[] = diff(sp.folded, sp.seconds || 1, bp.folded, bp.seconds || 1);
      const dtitle = `${KIND_TITLE[kind]} — spike vs baseline${sp.seconds ? ' (per second)' : ''} — ${ev.manifest.target.description}`;
      const dsvg = await write(`${kind}.diff.svg`, renderFlameGraph({ title: dtitle, subtitle, unit, sampleType, stacks, annotations, differential: true }));
      // flamegraph.pl's difffolded format: "stack baseline spike".
      await write(`${kind}.diff.folded`, toFolded(stacks.map((s) => ({ ...s, value: Math.round(s.value), baseValue: Math.round(s.baseValue ?? 0) }))));
      mine.push(dsvg);
    }
    for (const r of causes) (byCause[r.id] ??= []).push(...mine);
  }
  return { files, byCause };
}
