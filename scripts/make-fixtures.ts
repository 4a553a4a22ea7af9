/**
 * Records the real evidence bundles in fixtures/bundles/: the lab service under open-loop load,
 * a calm baseline window, then a fault switched on and a spike window, captured with p99sleuth's
 * own pprof and Prometheus collectors against a real Prometheus.
 *
 *   node --import tsx scripts/make-fixtures.ts [scenario...]     (all scenarios when none given)
 *
 * The bundles never contain the scenario name or the fault: the analysis sees what production shows.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { BundleWriter } from '../src/evidence/bundle.js';
import { capturePprofWindow } from '../src/sources/pprof/capture.js';
import { capturePrometheus } from '../src/sources/prometheus/capture.js';
import { buildQueries } from '../src/sources/prometheus/queries.js';
import type { ProfileKind } from '../src/evidence/model.js';
import { LabService, load, prepare, Prometheus, PPROF_URL, PROM_URL, sleep } from './lab/lab.js';
import { packagePath } from '../src/util/paths.js';

interface Scenario {
  fault?: string;
  runtimeMetrics?: boolean;
  /** Seconds between switching the fault on and the spike window. */
  settle?: number;
}

export const SCENARIOS: Record<string, Scenario> = {
  healthy: {},
  'gc-pressure': { fault: 'gc-pressure' },
  'lock-contention': { fault: 'lock-contention' },
  'channel-blocking': { fault: 'channel-blocking' },
  'cpu-bound': { fault: 'cpu-bound' },
  'goroutine-leak': { fault: 'goroutine-leak', settle: 35 },
  'go-scheduler-latency': { fault: 'sched-latency' },
  'go-scheduler-latency-runtime-metrics': { fault: 'sched-latency', runtimeMetrics: true },
  'downstream-latency': { fault: 'downstream-slow' },
};

const RATE = Number(process.env.LAB_RATE ?? 50);
const WINDOW_S = 10;
const KINDS: ProfileKind[] = ['cpu', 'goroutine', 'mutex', 'block', 'heap', 'allocs'];

async function record(name: string, s: Scenario, prom: Prometheus): Promise<void> {
  void prom;
  const out = packagePath('fixtures', 'bundles', name);
  await rm(out, { recursive: true, force: true });
  const writer = await BundleWriter.create(out);
  const lab = await LabService.start({ runtimeMetrics: s.runtimeMetrics });
  const settle = s.settle ?? 10;
  const traffic = load(RATE, 12 + WINDOW_S + settle + WINDOW_S + 5);
  try {
    await sleep(12_000);
    const t = { baseUrl: PPROF_URL };
    const bStart = new Date();
    await capturePprofWindow(t, { window: 'baseline', seconds: WINDOW_S, goroutineSnapshots: 10, kinds: KINDS }, writer);
    const bEnd = new Date();
    if (s.fault) await lab.fault(s.fault, true);
    await sleep(settle * 1000);
    const sStart = new Date();
    await capturePprofWindow(t, { window: 'spike', seconds: WINDOW_S, goroutineSnapshots: 10, kinds: KINDS }, writer);
    const sEnd = new Date();
    await sleep(2500); // let Prometheus scrape the end of the window
    const latencyMetric = 'http_request_duration_seconds';
    const selector = '{job="checkout"}';
    await capturePrometheus({ url: PROM_URL }, buildQueries(selector, latencyMetric, '5s'), { start: Math.floor(bStart.getTime() / 1000) - 30, end: Math.ceil(sEnd.getTime() / 1000) + 1, step: 1 }, writer);
    const client = await traffic.done;
    process.stderr.write(`fixtures: ${name}: client p50 ${client.p50Ms} ms p99 ${client.p99Ms} ms, ${client.errors} errors\n`);
    await writer.finish({
      complete: true,
      target: { kind: 'fixture', description: `lab checkout service (pid ${lab.pid})`, pid: lab.pid, pprofUrl: PPROF_URL, prometheusUrl: PROM_URL, selector, latencyMetric },
      windows: { baseline: { start: bStart.toISOString(), end: bEnd.toISOString() }, spike: { start: sStart.toISOString(), end: sEnd.toISOString() } },
    });
    process.stderr.write(`fixtures: wrote ${path.relative(process.cwd(), out)}\n`);
  } finally {
    traffic.stop();
    await traffic.done.catch(() => undefined);
    await lab.stop();
  }
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  for (const n of names) if (!(n in SCENARIOS)) throw new Error(`unknown scenario ${n}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  await prepare();
  const prom = await Prometheus.start();
  try {
    for (const name of names.length ? names : Object.keys(SCENARIOS)) await record(name, SCENARIOS[name], prom);
  } finally {
    await prom.stop();
  }
}

await main();
