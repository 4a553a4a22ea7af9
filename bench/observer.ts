/**
 * `npm run bench:observer`: what watching costs the watched. The lab service runs under open-loop
 * load; each collector (every bpftrace script alone, all of them together, and a whole
 * `investigate`) runs during one load period, and the same load without it runs right before, so
 * every pair sees the same machine. Reports throughput (answered requests per second) and the
 * client's P99 with and without, as ratios. Needs root and bpftrace; run with tsx (it drives the lab).
 *
 *   node --import tsx bench/observer.ts [--rate 200] [--seconds 10] [--pairs 2] [--only hardirq,noise]
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { captureBpf } from '../src/capture/kernel.js';
import { BundleWriter } from '../src/evidence/bundle.js';
import { SCRIPT_NAMES, type ScriptName } from '../src/sources/bpftrace/scripts.js';
import { median } from '../src/util/num.js';
import { packagePath } from '../src/util/paths.js';
import { LabService, load, prepare, type LoadResult } from '../scripts/lab/lab.js';

const { values: opt } = parseArgs({ options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' }, pairs: { type: 'string', default: '2' }, only: { type: 'string' } } });
const RATE = Number(opt.rate), SECONDS = Number(opt.seconds), PAIRS = Number(opt.pairs);
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

type Condition = { name: string; run: (pid: number, seconds: number) => Promise<unknown> };

/** The scripts exactly as investigate runs them (captureBpf: staggered, lowest priority). */
const bpf = (names: ScriptName[]): Condition => ({
  name: names.length === 1 ? `bpftrace ${names[0]}` : 'all bpftrace scripts',
  run: async (pid, seconds) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-observer-'));
    try {
      const writer = await BundleWriter.create(path.join(dir, 'b'));
      await captureBpf({ pid, seconds, scripts: names }, writer, new AbortController().signal);
      await writer.finish({ complete: true, target: { kind: 'local', description: `pid ${pid}` }, windows: { spike: { start: new Date().toISOString(), end: new Date().toISOString() } } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

/** A whole `investigate --local`, with extra flags to take parts away. */
const investigateWith = (name: string, extra: string[]): Condition => ({
  name,
  run: async (pid, seconds) => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-observer-'));
    try {
      await execa(process.execPath, [packagePath('bin', 'p99sleuth.js'), 'investigate', '--local', '--pid', String(pid), '--duration', `${seconds}s`, '--out', path.join(out, 'b'), '--no-flamegraphs', '-q', ...extra], { stdout: 'ignore', stderr: 'ignore', timeout: (seconds + 30) * 1000 });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  },
});
const investigate = investigateWith('investigate (pprof + procfs + bpftrace)', []);
const investigateNoBpf = investigateWith('investigate --no-bpf (pprof + procfs)', ['--no-bpf']);
const investigateCpuOnly = investigateWith('investigate --no-bpf --profiles cpu', ['--no-bpf', '--profiles', 'cpu']);
const investigateGoroutine = investigateWith('investigate --no-bpf --profiles goroutine', ['--no-bpf', '--profiles', 'goroutine']);
const investigateDelays = investigateWith('investigate --no-bpf --profiles mutex,block', ['--no-bpf', '--profiles', 'mutex,block']);
const investigateHeap = investigateWith('investigate --no-bpf --profiles heap,allocs', ['--no-bpf', '--profiles', 'heap,allocs']);

interface Pair { off: LoadResult; on: LoadResult }

async function measure(lab: LabService, c: Condition | undefined): Promise<LoadResult> {
  const traffic = load(RATE, SECONDS);
  // Start the collector a moment after the load, so both cover the same seconds.
  const collector = c ? c.run(lab.pid, Math.max(1, SECONDS - 2)) : Promise.resolve();
  const [r] = await Promise.all([traffic.done, collector]);
  return r;
}

const okRate = (r: LoadResult) => r.ok / SECONDS;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (bpftrace)');
  await prepare();
  const lab = await LabService.start({});
  // Nothing running in the "with" period either: how much two periods differ by chance alone.
  const noise: Condition = { name: 'nothing (noise floor)', run: async () => undefined };
  const all = [noise, ...SCRIPT_NAMES.map((n) => bpf([n])), bpf(SCRIPT_NAMES), investigate, investigateNoBpf, investigateCpuOnly, investigateGoroutine, investigateDelays, investigateHeap];
  // --only a,b: conditions whose name contains one of these words (to re-measure a few).
  const conditions = opt.only ? all.filter((c) => opt.only!.split(',').some((w) => c.name.includes(w))) : all;
  const rows: Array<{ name: string; tput: number; p99: number; offP99: number; onP99: number }> = [];
  try {
    await measure(lab, undefined); // warm-up
    for (const c of conditions) {
      const pairs: Pair[] = [];
      for (let i = 0; i < PAIRS; i++) pairs.push({ off: await measure(lab, undefined), on: await measure(lab, c) });
      const tput = median(pairs.map((p) => okRate(p.on) / okRate(p.off)));
      const p99 = median(pairs.map((p) => p.on.p99Ms / p.off.p99Ms));
      rows.push({ name: c.name, tput, p99, offP99: median(pairs.map((p) => p.off.p99Ms)), onP99: median(pairs.map((p) => p.on.p99Ms)) });
      log(`${c.name}: throughput ×${tput.toFixed(3)}, P99 ×${p99.toFixed(2)}`);
    }
  } finally {
    await lab.stop();
  }
  console.log(`observer effect on the lab service at ${RATE} req/s (open loop, ${SECONDS} s per period, median of ${PAIRS} pairs; ratio = with / without; compare with the noise floor row)`);
  console.log('| collector | throughput ratio | client P99 without → with | P99 ratio |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.tput.toFixed(3)} | ${r.offP99.toFixed(1)} ms → ${r.onP99.toFixed(1)} ms | ${r.p99.toFixed(2)} |`);
}

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
