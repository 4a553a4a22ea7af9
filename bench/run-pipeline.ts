/**
 * One benchmark run of p99sleuth's CPU-profile pipeline, in its own process so that peak RSS belongs
 * to this run alone. Spawned by bench/profile.ts:
 *
 *   node dist/bench/run-pipeline.js FILE            read → gunzip → decode → fold → top → classify
 *   node dist/bench/run-pipeline.js FILE --render   the same, then render the SVG flame graph
 *
 * Prints one JSON line (RunResult) on stdout. The classify phase does per stack what the analysis
 * does for a CPU profile (analysis/features.ts cpuFacts): classifyStack + isRequestPath.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { classifyStack, isRequestPath, type FrameCategory } from '../src/analysis/frames.js';
import { renderFlameGraph } from '../src/render/flamegraph/index.js';
import { fold, top } from '../src/sources/pprof/fold.js';
import { parsePprof } from '../src/sources/pprof/parse.js';

/** Milliseconds per phase, plus what was processed. */
export interface RunResult {
  readMs: number;
  gunzipMs: number;
  decodeMs: number;
  foldMs: number;
  topMs: number;
  classifyMs: number;
  /** read through classify: what is compared with `go tool pprof -top`. */
  pipelineMs: number;
  renderMs?: number;
  svgBytes?: number;
  samples: number;
  stacks: number;
  /** Top function by flat value, as a sanity check against pprof's first row. */
  topFlat: string;
  /** Value by frame category and on the request path: the analysis' view, and proof the work was used. */
  byCategory: Partial<Record<FrameCategory, number>>;
  requestValue: number;
  /** process.resourceUsage().maxRSS at exit, in MB (10^6 bytes). */
  maxRssMB: number;
}

async function main(): Promise<void> {
  const [file, flag] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/run-pipeline.js FILE [--render]\n');
    process.exitCode = 2;
    return;
  }
  const t0 = performance.now();
  const gz = await readFile(file);
  const t1 = performance.now();
  // parsePprof gunzips itself; doing it here first only splits the timing (same work).
  const raw = gunzipSync(gz);
  const t2 = performance.now();
  const profile = parsePprof(raw, file);
  const t3 = performance.now();
  const folded = fold(profile, 'cpu');
  const t4 = performance.now();
  const hottest = top(folded, 20, 'flat');
  const t5 = performance.now();
  const byCategory: Partial<Record<FrameCategory, number>> = {};
  let request = 0;
  for (const s of folded.stacks) {
    const cat = classifyStack(s.frames);
    byCategory[cat] = (byCategory[cat] ?? 0) + s.value;
    if (isRequestPath(s.frames)) request += s.value;
  }
  const t6 = performance.now();

  const result: RunResult = {
    readMs: t1 - t0,
    gunzipMs: t2 - t1,
    decodeMs: t3 - t2,
    foldMs: t4 - t3,
    topMs: t5 - t4,
    classifyMs: t6 - t5,
    pipelineMs: t6 - t0,
    samples: profile.samples.length,
    stacks: folded.stacks.length,
    topFlat: hottest[0]?.name ?? '',
    byCategory,
    requestValue: request,
    maxRssMB: 0,
  };
  if (flag === '--render') {
    const r0 = performance.now();
    const svg = renderFlameGraph({ title: 'CPU (benchmark)', unit: folded.sampleType.unit, sampleType: folded.sampleType.type, stacks: folded.stacks });
    result.renderMs = performance.now() - r0;
    result.svgBytes = Buffer.byteLength(svg);
  }
  result.maxRssMB = (process.resourceUsage().maxRSS * 1024) / 1e6; // maxRSS is in KiB
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
