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
import { stacksToFolded } from '../sources/bpftrace/parse.js';
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

  // Kernel + user stacks from bpftrace: where threads ran, and why they slept.
  for (const g of KERNEL_GRAPHS) {
    const b = ev.kernel.bpf[g.script];
    const map = b?.output.maps[g.map];
    if (!map) continue;
    const folded = stacksToFolded(map, { sampleType: g.sampleType });
    if (folded.total <= 0) continue;
    const reported = new Set(a.reported.map((r) => r.id));
    const annotations: FlameAnnotation[] = KERNEL_WAITS.filter((w) => g.script === 'offcpu' || w.onCpu).map((w) => ({
      id: w.cause,
      label: `${w.label}${reported.has(w.cause) ? ` — ${w.cause} reported` : ''}`,
      color: CATALOGUE[w.cause].color,
      patterns: w.patterns,
    }));
    const title = `${g.title} — ${ev.manifest.target.description}`;
    const subtitle = 'kernel frames end in _[k]; coloured frames are kernel wait reasons';
    const svg = await write(`${g.script}.svg`, renderFlameGraph({ title, subtitle, unit: g.sampleType.unit, sampleType: g.sampleType.type, stacks: folded.stacks, annotations }));
    await write(`${g.script}.folded`, toFolded(folded.stacks));
    for (const w of KERNEL_WAITS) if (reported.has(w.cause) && (g.script === 'offcpu' || w.onCpu)) (byCause[w.cause] ??= []).push(svg);
  }
  return { files, byCause };
}

const KERNEL_GRAPHS = [
  { script: 'offcpu', map: '@offcpu_us', title: 'Off-CPU time by kernel + user stack (bpftrace, sleeps ≥ 1 ms)', sampleType: { type: 'off-cpu', unit: 'microseconds' } },
  { script: 'oncpu', map: '@oncpu', title: 'On-CPU, kernel + user stacks (bpftrace, 99 Hz)', sampleType: { type: 'samples', unit: 'count' } },
] as const;

/**
 * Kernel frames that say why a thread waited, by the cause they belong to. Thread-level stacks of Go
 * show futex parking for channel and mutex waits (those are read from pprof instead); these are the
 * waits only the kernel sees.
 */
const KERNEL_WAITS: Array<{ cause: CauseId; label: string; patterns: RegExp[]; onCpu?: boolean }> = [
  { cause: 'disk-io-latency', label: 'waiting on storage (fsync, writeback, block I/O)', patterns: [/^(io_schedule\w*|blk_\w+|bio_\w+|submit_bio\w*|jbd2\w*|\w+_sync_file|vfs_fsync\w*|file_write_and_wait\w*|filemap_fdatawait\w*|\w*wait_on_page_writeback|folio_wait\w*|__filemap_fdatawrite\w*)_\[k\]$/] },
  { cause: 'memory-reclaim', label: 'reclaiming memory', patterns: [/^(try_to_free_\w+|shrink_\w+|\w*reclaim\w*|mem_cgroup_handle_over_high|balance_dirty_pages\w*|throttle_direct_reclaim)_\[k\]$/], onCpu: true },
  { cause: 'tcp-retransmits', label: 'network stack', patterns: [/^(tcp_\w+|inet_\w+|sk_wait_\w+|sock_\w+)_\[k\]$/], onCpu: true },
  { cause: 'softirq-saturation', label: 'softirq work', patterns: [/^(__do_softirq|handle_softirqs|net_rx_action|do_softirq\w*|irq_exit\w*)_\[k\]$/], onCpu: true },
];
