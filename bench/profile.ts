/**
 * `npm run bench`: p99sleuth's pprof pipeline (read → gunzip → decode → fold → top → classify)
 * against `go tool pprof -top` on the same large profile built from real captures
 * (bench/large-profile.ts), in the same run, plus SVG flame graph rendering time and peak memory.
 *
 * Both sides are timed as whole processes from spawn to exit, so both pay their start-up and file
 * reading; runs alternate go/ours to spread the machine's noise evenly, and the median is reported.
 * The report goes to stdout, progress to stderr. Exits non-zero when `go` or the captures are missing.
 *
 * Then, in the same run: the flame graph from the same folded stacks against flamegraph.pl
 * (bench/flamegraph-pl.ts, when FLAMEGRAPH_PL is set), the CLI's cold start (bench/cold-start.ts)
 * and, optionally, the time to diagnosis of a whole `investigate` (bench/diagnosis.ts); the last
 * table sums every figure up with its target.
 *
 * Environment: BENCH_RUNS (default 3); P99SLEUTH_BENCH_BUNDLES, another directory laid out like
 * fixtures/bundles (<scenario>/pprof/<window>/cpu*.pb.gz) holding real captures to build from;
 * FLAMEGRAPH_PL (path of flamegraph.pl); P99SLEUTH_BENCH_LAB=1 (time to diagnosis, starts the lab
 * service) with BENCH_DIAGNOSIS_SECONDS (default 10); BENCH_COLD_RUNS (default 10).
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from '../src/util/num.js';
import { packagePath, packageRoot } from '../src/util/paths.js';
import { ensureLargeProfile, findCaptureFiles, type LargeProfile } from './large-profile.js';
import type { RunResult } from './run-pipeline.js';
import { benchFlamegraphPl, flameRatio } from './flamegraph-pl.js';
import { benchColdStart } from './cold-start.js';
import { benchDiagnosis } from './diagnosis.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET = 1.5;
const FLAME_TARGET = 5;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 10);
const DIAGNOSIS_SECONDS = Number(process.env.BENCH_DIAGNOSIS_SECONDS ?? 10);
const DIAGNOSIS_MARGIN_S = 3;
const RUN_TIMEOUT_MS = 120_000;
const PIPELINE = fileURLToPath(new URL('./run-pipeline.js', import.meta.url));

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

class BenchError extends Error {}

/** GNU time, when installed, gives go's peak RSS (our child reports its own); other `time`s are not used. */
const GNU_TIME = '/usr/bin/time';
let gnuTime: Promise<boolean> | undefined;
const hasGnuTime = () =>
  (gnuTime ??= existsSync(GNU_TIME)
    ? execa(GNU_TIME, ['--version'], { reject: false, timeout: 10_000, all: true }).then((r) => /GNU/.test(r.all ?? ''))
    : Promise.resolve(false));

/** `go tool pprof -top FILE`, stdout discarded; wall milliseconds from spawn to exit, peak RSS in MB when known. */
async function goPprofTop(file: string): Promise<{ wallMs: number; maxRssMB?: number }> {
  const pprof = ['go', 'tool', 'pprof', '-top', file];
  const rssFile = path.join(tmpdir(), `p99sleuth-bench-${process.pid}.rss`);
  const withTime = await hasGnuTime();
  const [cmd, ...args] = withTime ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...pprof] : pprof;
  const t0 = performance.now();
  const r = await execa(cmd, args, {
    stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false, timeout: RUN_TIMEOUT_MS, forceKillAfterDelay: 2000,
  });
  const wallMs = performance.now() - t0;
  if (r.failed) throw new BenchError(`go tool pprof -top failed (${r.shortMessage}):\n${r.stderr}`);
  if (!withTime) return { wallMs };
  const kib = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
  await rm(rssFile, { force: true });
  return { wallMs, maxRssMB: Number.isFinite(kib) ? (kib * 1024) / 1e6 : undefined };
}

/** One run of our pipeline in a fresh Node process; wall milliseconds plus its own report. */
async function ours(file: string, render = false): Promise<{ wallMs: number; r: RunResult }> {
  const t0 = performance.now();
  const p = await execa(process.execPath, [PIPELINE, file, ...(render ? ['--render'] : [])], {
    stdin: 'ignore', reject: false, timeout: RUN_TIMEOUT_MS, forceKillAfterDelay: 2000,
  });
  const wallMs = performance.now() - t0;
  if (p.failed) throw new BenchError(`run-pipeline failed (${p.shortMessage}):\n${p.stderr}`);
  return { wallMs, r: JSON.parse(p.stdout) as RunResult };
}

async function requireGo(): Promise<string> {
  const r = await execa('go', ['version'], { reject: false, timeout: 30_000 });
  if (r.failed) {
    throw new BenchError(
      'this benchmark compares against `go tool pprof`, but `go` is not runnable here ' +
      `(${r.shortMessage}). Install Go (https://go.dev/dl/) and put it on PATH, then run npm run bench again.`,
    );
  }
  return r.stdout.trim();
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const pad = (x: string, n: number) => x.padStart(n);

function table(rows: Array<[string, string[]]>): string {
  const w0 = Math.max(...rows.map(([l]) => l.length));
  const ws = rows[0][1].map((_, i) => Math.max(...rows.map(([, c]) => (c[i] ?? '').length)));
  return rows.map(([l, cells]) => `  ${l.padEnd(w0)}  ${cells.map((c, i) => pad(c, ws[i])).join('  ')}`).join('\n');
}

function flameRows(f: Awaited<ReturnType<typeof benchFlamegraphPl>>): Array<[string, string[]]> {
  if (!f.measured) return [];
  const r = flameRatio(f);
  const size = f.oursBytes / f.plBytes;
  return [
    [`flame graph SVG vs flamegraph.pl (${f.stacks.toLocaleString('en-US')} stacks), time`, [s(median(f.oursMs)), s(median(f.plMs)), `${r.toFixed(2)}x faster`, `≥ ${FLAME_TARGET}x ${r >= FLAME_TARGET ? 'met' : 'NOT met'}`]],
    ['flame graph SVG vs flamegraph.pl, size', [mb(f.oursBytes), mb(f.plBytes), `${size.toFixed(2)}x`, `≤ 1x ${size <= 1 ? 'met' : 'NOT met'}`]],
  ];
}

function diagnosisRows(d: Awaited<ReturnType<typeof benchDiagnosis>>): Array<[string, string[]]> {
  if (!d.measured) return [];
  const wall = median(d.wallMs) / 1000;
  const met = wall <= d.seconds + DIAGNOSIS_MARGIN_S ? 'met' : 'NOT met';
  return [['time to diagnosis (investigate, lab service)', [s(median(d.wallMs)), `D = ${d.seconds} s`, `D + ${(wall - d.seconds).toFixed(1)} s`, `≤ D + ${DIAGNOSIS_MARGIN_S} s ${met}${d.bpf ? '' : ' (no bpftrace: not root)'}`]]];
}

async function main(): Promise<void> {
  const goVersion = await requireGo();
  const bundlesDir = process.env.P99SLEUTH_BENCH_BUNDLES ? path.resolve(process.env.P99SLEUTH_BENCH_BUNDLES) : packagePath('fixtures', 'bundles');
  if ((await findCaptureFiles(bundlesDir)).length === 0) {
    throw new BenchError(`no real pprof captures under ${path.relative(process.cwd(), bundlesDir) || bundlesDir}; record them first (node --import tsx scripts/make-fixtures.ts)`);
  }
  log('building or reusing the large profile from real captures …');
  const t0 = performance.now();
  const big: LargeProfile = await ensureLargeProfile({ bundlesDir, cacheDir: packagePath('bench', '.cache'), root: packageRoot() });
  log(`${big.built ? 'built' : 'reused'} ${path.relative(process.cwd(), big.file)} in ${s(performance.now() - t0)}`);

  // Warm-up (not counted) on one small real capture: loads the pprof binary and Node's modules.
  log('warm-up …');
  const small = (await findCaptureFiles(bundlesDir)).find((f) => path.basename(f).startsWith('cpu')) ?? big.file;
  await goPprofTop(small);
  await ours(small);

  const goRuns: Array<{ wallMs: number; maxRssMB?: number }> = [];
  const ourRuns: Array<{ wallMs: number; r: RunResult }> = [];
  for (let i = 0; i < RUNS; i++) {
    log(`run ${i + 1}/${RUNS}: go tool pprof -top …`);
    goRuns.push(await goPprofTop(big.file));
    log(`run ${i + 1}/${RUNS}: p99sleuth …`);
    ourRuns.push(await ours(big.file));
  }
  log('SVG flame graph …');
  const rendered = await ours(big.file, true);
  const flame = await benchFlamegraphPl(big.file, RUNS, log);
  log('CLI cold start …');
  const cold = await benchColdStart(COLD_RUNS);
  const diagnosis = await benchDiagnosis(RUNS, DIAGNOSIS_SECONDS, log);

  const goMs = goRuns.map((x) => x.wallMs);
  const goMed = median(goMs);
  const ourMed = median(ourRuns.map((x) => x.wallMs));
  const phase = (k: keyof RunResult) => median(ourRuns.map((x) => x.r[k] as number));
  const ratio = goMed / ourMed;
  const runCols = (xs: number[]) => [...xs.map(s), s(median(xs))];
  const rss = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} MB` : 'n/a');
  const rssCols = (xs: number[]) => [...xs.map(rss), rss(median(xs))];
  const header = [...goMs.map((_, i) => `run ${i + 1}`), 'median'];
  const r0 = ourRuns[0].r;

  const out = [
    `p99sleuth bench — ${goVersion}, node ${process.version}`,
    `profile: ${path.relative(process.cwd(), big.file)}: ${mb(big.decodedBytes)} decoded (${mb(big.gzBytes)} gzipped), ` +
      `${r0.samples.toLocaleString('en-US')} samples, ${r0.stacks.toLocaleString('en-US')} distinct stacks; ` +
      `${big.copies} copies of ${big.sources.length} real CPU captures`,
    '',
    table([
      ['', header],
      ['go tool pprof -top (process)', runCols(goMs)],
      ['p99sleuth pipeline (process)', runCols(ourRuns.map((x) => x.wallMs))],
      ['  in-process: read + gunzip', runCols(ourRuns.map((x) => x.r.readMs + x.r.gunzipMs))],
      ['  in-process: decode (parsePprof)', runCols(ourRuns.map((x) => x.r.decodeMs))],
      ['  in-process: fold', runCols(ourRuns.map((x) => x.r.foldMs))],
      ['  in-process: top', runCols(ourRuns.map((x) => x.r.topMs))],
      ['  in-process: classify', runCols(ourRuns.map((x) => x.r.classifyMs))],
      ['p99sleuth peak RSS', rssCols(ourRuns.map((x) => x.r.maxRssMB))],
      ['go tool pprof peak RSS', rssCols(goRuns.map((x) => x.maxRssMB ?? NaN))],
    ]),
    '',
    `hottest flat function: ${r0.topFlat}`,
    `SVG flame graph: ${s(rendered.r.renderMs ?? NaN)} to render ${mb(rendered.r.svgBytes ?? NaN)} from ${rendered.r.stacks.toLocaleString('en-US')} stacks ` +
      `(peak RSS of that process ${rendered.r.maxRssMB.toFixed(0)} MB)`,
    `in-process pipeline median: ${s(phase('pipelineMs'))} (process median ${s(ourMed)} includes Node start-up)`,
    `fastest runs (less exposed to a noisy machine): go ${s(Math.min(...goMs))}, p99sleuth ${s(Math.min(...ourRuns.map((x) => x.wallMs)))} ` +
      `(${(Math.min(...goMs) / Math.min(...ourRuns.map((x) => x.wallMs))).toFixed(2)}x)`,
    `target ≥ ${TARGET.toFixed(2)}x (median ratio): ${ratio >= TARGET ? 'met' : 'NOT met'}`,
    `ratio vs go tool pprof: ${ratio.toFixed(2)}x`,
    '',
    'summary (medians; ratios measured side by side in this run)',
    table([
      ['', ['p99sleuth', 'reference', 'ratio', 'target']],
      ['pprof decode + fold + analyse vs go tool pprof -top', [s(ourMed), s(goMed), `${ratio.toFixed(2)}x`, `≥ ${TARGET}x ${ratio >= TARGET ? 'met' : 'NOT met'}`]],
      ['peak RSS vs go tool pprof', [rss(median(ourRuns.map((x) => x.r.maxRssMB))), rss(median(goRuns.map((x) => x.maxRssMB ?? NaN))), '', '']],
      ...flameRows(flame),
      ['CLI cold start (--help)', [s(median(cold)), '', '', `${COLD_RUNS} runs`]],
      ...diagnosisRows(diagnosis),
    ]),
    // Rows that could not be measured here, and how to measure them.
    ...(flame.measured ? [] : [`  flame graph SVG vs flamegraph.pl: ${flame.reason}`]),
    ...(diagnosis.measured ? [] : [`  time to diagnosis: ${diagnosis.reason}`]),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof BenchError ? err.message : (err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
