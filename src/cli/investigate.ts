/** `p99sleuth investigate`: capture live evidence into a bundle, then the same analysis as `analyze`. */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureLocal } from '../capture/local.js';
import { PROFILE_KINDS, type ProfileKind } from '../evidence/model.js';
import { SleuthError, usageError } from '../errors.js';
import type { PromTarget } from '../sources/prometheus/capture.js';
import { SCRIPT_NAMES } from '../sources/bpftrace/scripts.js';
import { selectorBody } from '../sources/prometheus/queries.js';
import { parsePid } from '../target/local.js';
import { makeLogger } from '../ui/log.js';
import { makeProgress } from '../ui/progress.js';
import { parseDuration } from '../util/duration.js';
import { EXIT } from './exit.js';
import { reportOnBundle, type Format } from './report-run.js';

export interface InvestigateFlags {
  local?: boolean;
  pid?: string;
  pprof?: string;
  prometheus?: string;
  prometheusToken?: string;
  prometheusUser?: string;
  prometheusPassword?: string;
  prometheusHeader?: string[];
  prometheusCa?: string;
  prometheusTimeout: string;
  insecureSkipTlsVerify?: boolean;
  selector?: string;
  nodeSelector?: string;
  latencyMetric?: string;
  since: string;
  duration: string;
  profiles: string;
  bpf: boolean;
  bpftrace: string;
  out?: string;
  format: Format;
  flamegraphs: boolean;
  exitCode?: boolean;
}

export interface GlobalFlags {
  color: boolean;
  quiet: boolean;
  debug: boolean;
}

export async function investigate(target: string[], f: InvestigateFlags, g: GlobalFlags & { useColor: boolean }): Promise<void> {
  if (!f.local) {
    throw usageError(
      target.length ? `cannot investigate ${target.join(' ')}: Kubernetes targets are not supported by this version yet` : 'nothing to investigate',
      'for a process on this machine use: p99sleuth investigate --local --pid PID [--prometheus URL]',
    );
  }
  if (!f.pid) throw usageError('--local needs --pid PID', 'e.g. p99sleuth investigate --local --pid $(pgrep -f checkout)');
  const pid = parsePid(f.pid);
  const durationSeconds = parseDuration(f.duration, '--duration', { min: 1, max: 600 });
  const sinceSeconds = parseDuration(f.since, '--since', { min: 60, max: 7 * 86400 });
  // Validate early: a usage error before anything runs.
  if (f.selector) selectorBody(f.selector);
  if (f.nodeSelector) selectorBody(f.nodeSelector);
  if (f.latencyMetric && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.latencyMetric)) throw usageError(`--latency-metric ${JSON.stringify(f.latencyMetric)} is not a metric name`);
  const kinds = f.profiles.split(',').map((k) => k.trim()) as ProfileKind[];
  for (const k of kinds) if (!PROFILE_KINDS.includes(k)) throw usageError(`--profiles: unknown profile "${k}"`, `choose from ${PROFILE_KINDS.join(',')}`);
  for (const [flag, url] of [['--pprof', f.pprof], ['--prometheus', f.prometheus]] as const) {
    if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw usageError(`${flag} ${JSON.stringify(url)} is not an http(s) URL`);
  }

  const tls = {
    ca: f.prometheusCa ? readFileOr(f.prometheusCa, '--prometheus-ca') : undefined,
    insecure: f.insecureSkipTlsVerify,
  };
  const timeoutMs = parseDuration(f.prometheusTimeout, '--prometheus-timeout', { min: 0.1, max: 600 }) * 1000;
  const prometheus: PromTarget | undefined = f.prometheus ? { url: f.prometheus, headers: promHeaders(f), timeoutMs, ...tls } : undefined;

  const ac = new AbortController();
  // Every concurrent request listens on the one signal; more than Node's default of 10 is expected.
  setMaxListeners(200, ac.signal);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    // First Ctrl-C: stop capturing, keep and analyse what exists. Second: leave now.
    if (signals > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\np99sleuth: ${sig}: stopping collectors, keeping the partial bundle (Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = makeProgress({ quiet: g.quiet });
  try {
    const { dir, interrupted } = await captureLocal(
      { pid, pprof: f.pprof ? { baseUrl: f.pprof.replace(/\/+$/, '') } : undefined, prometheus, selector: f.selector, nodeSelector: f.nodeSelector, latencyMetric: f.latencyMetric, sinceSeconds, durationSeconds, out: f.out, kinds, bpfScripts: f.bpf ? SCRIPT_NAMES : [], bpftrace: f.bpftrace },
      progress,
      ac.signal,
    );
    progress.stop();
    makeLogger(g).info(`bundle written to ${dir}${interrupted ? ' (partial)' : ''}`);
    const report = await reportOnBundle(dir, { format: f.format, out: path.join(dir, 'report'), color: g.useColor, flamegraphs: f.flamegraphs }, makeLogger(g));
    if (interrupted) process.exitCode = EXIT.interrupted;
    else if (f.exitCode && report.verdict === 'cause-found') process.exitCode = EXIT.causeFound;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Credentials from flags or the environment; they go into request headers only, never into bundles. */
function promHeaders(f: InvestigateFlags): Record<string, string> {
  const h: Record<string, string> = {};
  for (const raw of f.prometheusHeader ?? []) {
    const i = raw.indexOf(':');
    if (i <= 0) throw usageError(`--prometheus-header ${JSON.stringify(raw)} must be "Name: value"`);
    h[raw.slice(0, i).trim()] = raw.slice(i + 1).trim();
  }
  const token = f.prometheusToken ?? process.env.P99SLEUTH_PROMETHEUS_TOKEN;
  const user = f.prometheusUser ?? process.env.P99SLEUTH_PROMETHEUS_USER;
  const password = f.prometheusPassword ?? process.env.P99SLEUTH_PROMETHEUS_PASSWORD;
  if (token && user) throw usageError('give either a bearer token or a user and password for Prometheus, not both');
  if (token) h.authorization = `Bearer ${token}`;
  else if (user) h.authorization = 'Basic ' + Buffer.from(`${user}:${password ?? ''}`).toString('base64');
  return h;
}

function readFileOr(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SleuthError('usage', `${flag} ${file}: cannot read (${(err as Error).message})`);
  }
}
