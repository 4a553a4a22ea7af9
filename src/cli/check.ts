/**
 * `p99sleuth check`: the CI gate after a load test. Does a latency SLO hold over a window? Measured
 * from Prometheus (or a saved bundle); on a breach the window's evidence is captured into a bundle and
 * analysed like `analyze`, and the ranked causes come with the verdict. Exit 0 holds, 1 breached,
 * 4 could not evaluate (never a pass without data).
 */
import { appendFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from '@commander-js/extra-typings';
import { buildCheckReport, type CheckReport, type CheckSource } from '../analysis/check-report.js';
import type { Report } from '../analysis/report.js';
import { bundleSpan, measureBundle } from '../analysis/slo-bundle.js';
import { BASES, SLO_GRAMMAR, judge, parseSlo, type Basis, type Judgement, type Objective, type Verdict } from '../analysis/slo.js';
import { capturePrometheusWindow } from '../capture/prometheus-window.js';
import { BundleWriter, openBundle } from '../evidence/bundle.js';
import { loadEvidence } from '../evidence/load.js';
import type { TargetDescription, TimeWindow } from '../evidence/manifest.js';
import type { Evidence } from '../evidence/model.js';
import { SleuthError, describe, usageError } from '../errors.js';
import { renderCheckMarkdown, renderCheckTerminal } from '../render/check.js';
import { renderJunit } from '../render/junit.js';
import type { PromTarget } from '../sources/prometheus/capture.js';
import { selectorBody } from '../sources/prometheus/queries.js';
import { measureWindow } from '../sources/prometheus/slo.js';
import { findSpikes } from '../sources/prometheus/spike.js';
import { makeLogger, type Logger } from '../ui/log.js';
import { makeProgress } from '../ui/progress.js';
import { redactUrl } from '../util/redact.js';
import { useColor } from './color.js';
import { EXIT } from './exit.js';
import type { GlobalFlags } from './investigate.js';
import { prometheusAuthOptions, withOptions } from './options.js';
import { promTarget, type PrometheusFlags } from './prometheus-flags.js';
import { metricName } from './validate.js';
import { parseTimes, resolveWindow, type Times } from './time-window.js';
import { FORMATS, writeReport, type Format } from './report-run.js';

/** The flags of `check`, as Commander parses them. */
export interface CheckFlags extends PrometheusFlags {
  bundle?: string;
  slo?: string;
  selector?: string;
  nodeSelector?: string;
  latencyMetric?: string;
  window?: string;
  from?: string;
  to?: string;
  basis?: Basis;
  format: Format;
  out?: string;
  junit?: string;
  flamegraphs: boolean;
  investigate: boolean;
}

const CHECK_HELP = `
Examples:
  p99sleuth check --prometheus http://prometheus:9090 --selector '{job="checkout"}' --slo 'p99<300ms' --window 10m
  p99sleuth check --prometheus "$PROM" --selector '{job="checkout"}' --slo 'p99<300ms,p50<50ms' \\
      --from 2026-11-21T18:00:00Z --to 2026-11-21T18:10:00Z --format markdown --junit slo.xml
  p99sleuth check --bundle ./bundle --slo 'p99<50ms'

The verdict is taken on the quantile of every request in the window (histogram increase over the
whole window) unless --basis worst; the worst rolling value is always reported too. A bundle keeps
only rolling series, so --bundle judges the worst rolling P99/P50. With $GITHUB_STEP_SUMMARY set, the
Markdown result is appended to it.

Exit codes of check:
  0    every objective holds
  1    an objective is breached (the ranked causes are in the output)
  2    usage error (bad --slo, flags, window)
  3    unusable input (bundle, manifest or artifact)
  4    could not evaluate: Prometheus unreachable, no series, or no requests in the window
  5    the result could not be written (--junit, $GITHUB_STEP_SUMMARY)`;

/** Add `check` to the program. */
export function registerCheck(program: Command, global: () => GlobalFlags): void {
  const cmd = program
    .command('check')
    .description('CI gate: does a latency SLO hold over a window? On a breach, investigate and exit 1 with the ranked causes')
    .option('--slo <objectives>', "latency objectives, e.g. 'p99<300ms' or 'p99<300ms,p50<=50ms'")
    .option('--prometheus <url>', 'Prometheus-compatible HTTP API holding the service\'s latency histogram')
    .option('--bundle <dir>', 'evaluate a saved evidence bundle instead of Prometheus')
    .option('--selector <selector>', 'PromQL label matchers for the service, e.g. \'{job="checkout"}\' (required with --prometheus)')
    .option('--latency-metric <name>', 'latency histogram (default: first of http_request_duration_seconds, http_server_request_duration_seconds, grpc_server_handling_seconds)')
    .option('--node-selector <selector>', 'node_exporter series of the service\'s machine, added to the bundle on a breach')
    .option('--window <duration>', 'the window ending at --to (default now, or a bundle\'s end): e.g. 10m (default 10m; with --bundle, the bundle\'s own span)')
    .option('--from <time>', 'window start: ISO 8601 or unix seconds (instead of --window)')
    .option('--to <time>', 'window end: ISO 8601 or unix seconds (default now)')
    .addOption(new Option('--basis <basis>', 'judge the whole-window quantile or the worst rolling value (default: window; worst with --bundle)').choices(BASES))
    .addOption(new Option('--format <format>', 'result format on stdout').choices(FORMATS).default('text' as Format))
    .option('--out <dir>', 'on a breach: the bundle written from Prometheus (default p99sleuth-check-<from>-<to>); with --bundle, where flame graphs go')
    .option('--no-flamegraphs', 'do not write flame graphs on a breach')
    .option('--no-investigate', 'on a breach, do not capture or analyse evidence (verdict only)')
    .option('--junit <file>', 'also write the result as JUnit XML (one testcase per objective)')
    .addHelpText('after', CHECK_HELP);
  withOptions(cmd, prometheusAuthOptions()).action(async (o) => {
    const g = global();
    await check(o as typeof o & PrometheusFlags, { ...g, useColor: useColor(g) });
  });
}

/** Run the check, print the result, write the CI files and set the exit code. */
export async function check(f: CheckFlags, g: GlobalFlags & { useColor: boolean }): Promise<void> {
  if (f.slo === undefined) throw usageError('check needs --slo', SLO_GRAMMAR);
  const objectives = parseSlo(f.slo);
  if ((f.prometheus === undefined) === (f.bundle === undefined)) {
    throw usageError(f.bundle ? 'give either --prometheus or --bundle, not both' : 'check needs --prometheus URL or --bundle DIR', "e.g. p99sleuth check --prometheus http://127.0.0.1:9090 --selector '{job=\"checkout\"}' --slo 'p99<300ms'");
  }
  const times = parseTimes(f);
  const log = makeLogger(g);
  const result = f.bundle !== undefined ? await checkBundle(f.bundle, objectives, times, f, log) : await checkPrometheus(objectives, times, f, g, log);

  const text = f.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : f.format === 'markdown' ? renderCheckMarkdown(result) : renderCheckTerminal(result, { color: g.useColor });
  process.stdout.write(text);
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) await writeResult(summary, renderCheckMarkdown(result) + '\n', 'append', '$GITHUB_STEP_SUMMARY');
  if (f.junit) await writeResult(f.junit, renderJunit(result), 'write', '--junit');
  if (result.verdict === 'not-evaluated') process.stderr.write(`p99sleuth: error: ${result.summary}\n`);
  process.exitCode = EXIT_FOR_VERDICT[result.verdict];
}

const EXIT_FOR_VERDICT: Record<Verdict, number> = { holds: EXIT.ok, breached: EXIT.causeFound, 'not-evaluated': EXIT.unavailable };

const iso = (t: number) => new Date(t * 1000).toISOString();
const compact = (t: number) => iso(t).replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');

async function checkPrometheus(objectives: Objective[], times: Times, f: CheckFlags, g: GlobalFlags, log: Logger): Promise<CheckReport> {
  const t = promTarget(f)!;
  if (!f.selector) throw usageError('--prometheus needs --selector: the series of the service to check', 'e.g. --selector \'{job="checkout"}\'');
  selectorBody(f.selector);
  if (f.nodeSelector) selectorBody(f.nodeSelector);
  metricName(f.latencyMetric);
  const { start, end } = resolveWindow(times);
  const basis = f.basis ?? 'window';
  const out = f.out ?? `p99sleuth-check-${compact(start)}-${compact(end)}`;
  // Before any query: a bundle could not be written there on a breach.
  if (f.investigate && ((await readdir(out).catch(() => [])) as string[]).length > 0) {
    throw usageError(`output directory ${out} already exists and is not empty`, 'remove it, or pass another --out (or --no-investigate)');
  }

  const notes: string[] = [];
  log.info(`checking ${objectives.map((o) => o.text).join(', ')} for ${f.selector} over ${iso(start)} → ${iso(end)}`);
  const source: CheckSource = { kind: 'prometheus', url: redactUrl(t.url), selector: f.selector, latencyMetric: f.latencyMetric ?? null };
  let m: Awaited<ReturnType<typeof measureWindow>>;
  try {
    m = await measureWindow(t, { selector: f.selector, latencyMetric: f.latencyMetric, start, end, quantiles: objectives.map((o) => o.quantile) });
  } catch (err) {
    if (!(err instanceof SleuthError) || err.kind !== 'unavailable') throw err;
    // Unreachable, refused or too slow: nothing measured, which is never a pass.
    const missing = `Prometheus could not be queried: ${err.message}`;
    if (err.hint) notes.push(`Hint: ${err.hint}.`);
    const judgements = objectives.map((o) => judge(o, { missing }, basis));
    return buildCheckReport({ slo: f.slo!, source, start, end, basis, judgements, notes });
  }
  source.latencyMetric = m.latencyMetric ?? source.latencyMetric;
  notes.push(basis === 'window'
    ? 'The verdict is taken on the quantile of every request in the window; the worst rolling value is shown too (--basis worst gates on it).'
    : 'The verdict is taken on the worst rolling value in the window (--basis worst); the whole-window quantile is shown too.');
  const judgements = objectives.map((o, i) => judge(o, m.measurements[i], basis));
  const base = { slo: f.slo!, source, start, end, basis, rollingSeconds: m.rollingSeconds, requests: m.requests, judgements, notes };
  if (!judgements.some((j) => j.verdict === 'breached') || !f.investigate) return buildCheckReport(base);

  // Breached: keep the window's evidence and say what it shows. A failure here loses the
  // investigation, not the verdict.
  const breached = judgements.findIndex((j) => j.verdict === 'breached');
  try {
    const dir = await capturePrometheusBundle(t, { selector: f.selector, nodeSelector: f.nodeSelector, latencyMetric: m.latencyMetric, scrapeInterval: m.scrapeInterval, rollingSeconds: m.rollingSeconds, start, end, slo: f.slo!, rolling: m.rolling[breached] }, out, g, log);
    const ev = await loadEvidence(await openBundle(dir));
    const report = await reportFor(ev, f.flamegraphs ? path.join(dir, 'report') : undefined, log);
    return buildCheckReport({ ...base, bundle: dir, report });
  } catch (err) {
    if (err instanceof SleuthError && (err.kind === 'interrupted' || err.kind === 'internal')) throw err;
    notes.push(`The investigation failed: ${describe(err)}${err instanceof SleuthError && err.hint ? ` (${err.hint})` : ''}`);
    log.info(`investigation failed: ${describe(err)}`);
    return buildCheckReport(base);
  }
}

interface BundleCapture {
  selector: string;
  nodeSelector?: string;
  latencyMetric?: string;
  scrapeInterval: number;
  rollingSeconds: number;
  start: number;
  end: number;
  slo: string;
  /** The rolling series of the breached quantile: the spike inside the window, and a calm stretch before it. */
  rolling: Array<[number, number]>;
}

/** Write the window's Prometheus series as a bundle whose spike window is the worst stretch of the window. */
async function capturePrometheusBundle(t: PromTarget, c: BundleCapture, out: string, g: GlobalFlags, log: Logger): Promise<string> {
  const spike = findSpikes(c.rolling);
  const windows: { baseline?: TimeWindow; spike: TimeWindow } = { spike: { start: iso(c.start), end: iso(c.end) } };
  const notes: string[] = [];
  if (spike?.chosen) {
    // At least one rolling window long, so that the spike's rates are its own.
    const from = Math.max(c.start, Math.min(spike.chosen.start, spike.chosen.end - c.rollingSeconds));
    windows.spike = { start: iso(from), end: iso(spike.chosen.end) };
    if (spike.baseline) windows.baseline = { start: iso(spike.baseline.start), end: iso(spike.baseline.end) };
  } else {
    notes.push('no spike inside the window: the whole window is analysed as the spike, without a calm baseline to compare with');
  }
  log.info(`SLO breached: writing the window's Prometheus series to ${out}`);
  const writer = await BundleWriter.create(out);
  const progress = makeProgress({ quiet: g.quiet });
  try {
    await capturePrometheusWindow(t, { selector: c.selector, nodeSelector: c.nodeSelector, latencyMetric: c.latencyMetric, scrapeInterval: c.scrapeInterval, start: c.start, end: c.end, meta: { spike, notes, check: { slo: c.slo, window: { start: iso(c.start), end: iso(c.end) } } } }, writer, undefined, {
      start: (n) => progress.start(n),
      done: (e) => progress.done(e.name, e.status, e.message),
    });
  } finally {
    progress.stop();
  }
  for (const n of notes) log.info(n);
  const target: TargetDescription = {
    // A service known only by its Prometheus series.
    kind: 'prometheus',
    description: `${c.selector} in Prometheus`,
    prometheusUrl: redactUrl(t.url),
    selector: c.selector,
    latencyMetric: c.latencyMetric,
  };
  return writer.finish({ complete: true, target, windows });
}

async function checkBundle(dir: string, objectives: Objective[], times: Times, f: CheckFlags, log: Logger): Promise<CheckReport> {
  for (const [flag, v] of [['--selector', f.selector], ['--latency-metric', f.latencyMetric], ['--node-selector', f.nodeSelector]] as const) {
    if (v !== undefined) throw usageError(`${flag} applies to --prometheus; a bundle names its own series`);
  }
  if (f.basis === 'window') throw usageError('--basis window needs --prometheus: a bundle keeps the rolling quantile series only, not the histogram', 'drop --basis (a bundle is judged on the worst rolling value)');
  const basis: Basis = 'worst';
  log.info(`reading bundle ${dir}`);
  const ev = await loadEvidence(await openBundle(dir));
  const { start, end } = resolveWindow(times, bundleSpan(ev));
  const m = measureBundle(ev, objectives, start, end);
  const notes = ['A bundle keeps the rolling quantile series only: the verdict is taken on the worst rolling value in the window.'];
  const judgements: Judgement[] = objectives.map((o, i) => judge(o, m.measurements[i], basis));
  const source: CheckSource = { kind: 'bundle', path: dir, latencyMetric: ev.manifest.target.latencyMetric ?? null };
  const base = { slo: f.slo!, source, start, end, basis, rollingSeconds: m.rollingSeconds, requests: m.requests, judgements, notes };
  if (!judgements.some((j) => j.verdict === 'breached') || !f.investigate) return buildCheckReport(base);
  const report = await reportFor(ev, f.flamegraphs && f.out ? f.out : undefined, log);
  return buildCheckReport({ ...base, bundle: dir, report });
}

/** The same analysis as `analyze`, returned instead of printed; flame graphs only where there are profiles. */
async function reportFor(ev: Evidence, graphsDir: string | undefined, log: Logger): Promise<Report> {
  // A window captured from Prometheus alone has no profiles to draw.
  const hasProfiles = Object.keys(ev.spike.profiles).length > 0;
  return writeReport(ev, { out: graphsDir, flamegraphs: hasProfiles, copies: false }, log);
}

async function writeResult(file: string, data: string, how: 'append' | 'write', what: string): Promise<void> {
  await (how === 'append' ? appendFile(file, data) : writeFile(file, data, { mode: 0o644 })).catch((err: Error) => {
    throw new SleuthError('io', `cannot write ${what} ${file}: ${err.message}`, 'check that the file\'s directory exists and is writable');
  });
}
