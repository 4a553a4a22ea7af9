/**
 * Flame graph rendering against Brendan Gregg's flamegraph.pl, on the same folded stacks (those of
 * the large profile). Both run as whole processes from a .folded file to an .svg file, alternating;
 * the table gets the median time ratio and the SVG size ratio. flamegraph.pl is never vendored:
 * FLAMEGRAPH_PL names a copy (e.g. from github.com/brendangregg/FlameGraph); without it the row says
 * how to measure.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parsePprof } from '../src/sources/pprof/parse.js';
import { fold } from '../src/sources/pprof/fold.js';
import { toFolded } from '../src/render/flamegraph/index.js';
import { median } from '../src/util/num.js';

const RENDER = fileURLToPath(new URL('./render-folded.js', import.meta.url));
const TIMEOUT_MS = 600_000;

export type FlamegraphPlResult =
  | { measured: false; reason: string }
  | { measured: true; stacks: number; foldedBytes: number; oursMs: number[]; plMs: number[]; oursBytes: number; plBytes: number };

/** Writes the profile's CPU stacks as folded text once (cached beside the profile). */
async function foldedOf(profile: string): Promise<{ file: string; stacks: number; bytes: number }> {
  const file = profile.replace(/\.pb\.gz$/, '') + '.folded';
  const p = parsePprof(await readFile(profile), profile);
  const f = fold(p, 'cpu');
  if (!existsSync(file) || (await stat(file)).mtimeMs < (await stat(profile)).mtimeMs) await writeFile(file, toFolded(f.stacks));
  return { file, stacks: f.stacks.length, bytes: (await stat(file)).size };
}

/** Wall milliseconds of one process from spawn to exit, and the size of the SVG it wrote. */
async function timed(file: string, args: string[], svg: string, stdoutToSvg: boolean): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  // flamegraph.pl writes the SVG on stdout: execa redirects it to the file, no shell involved.
  const r = await execa(file, args, { stdin: 'ignore', stdout: stdoutToSvg ? { file: svg } : 'ignore', reject: false, timeout: TIMEOUT_MS, forceKillAfterDelay: 2000 });
  const ms = performance.now() - t0;
  if (r.failed) throw new Error(`${path.basename(args[0] ?? file)} failed (${r.shortMessage}):\n${r.stderr}`);
  return { ms, bytes: (await stat(svg)).size };
}

export async function benchFlamegraphPl(profile: string, runs: number, log: (s: string) => void): Promise<FlamegraphPlResult> {
  const pl = process.env.FLAMEGRAPH_PL;
  if (!pl) return { measured: false, reason: 'not measured: set FLAMEGRAPH_PL=/path/to/flamegraph.pl (github.com/brendangregg/FlameGraph)' };
  if (!existsSync(pl)) return { measured: false, reason: `not measured: FLAMEGRAPH_PL=${pl} does not exist` };
  const folded = await foldedOf(profile);
  const dir = path.dirname(folded.file);
  const oursSvg = path.join(dir, 'bench-ours.svg');
  const plSvg = path.join(dir, 'bench-flamegraph-pl.svg');
  const oursMs: number[] = [];
  const plMs: number[] = [];
  let oursBytes = 0;
  let plBytes = 0;
  for (let i = 0; i < runs; i++) {
    log(`flame graph run ${i + 1}/${runs}: flamegraph.pl …`);
    const p = await timed('perl', [pl, folded.file], plSvg, true);
    plMs.push(p.ms);
    plBytes = p.bytes;
    log(`flame graph run ${i + 1}/${runs}: p99sleuth …`);
    const o = await timed(process.execPath, [RENDER, folded.file, oursSvg], oursSvg, false);
    oursMs.push(o.ms);
    oursBytes = o.bytes;
  }
  return { measured: true, stacks: folded.stacks, foldedBytes: folded.bytes, oursMs, plMs, oursBytes, plBytes };
}

export const flameRatio = (r: Extract<FlamegraphPlResult, { measured: true }>) => median(r.plMs) / median(r.oursMs);
