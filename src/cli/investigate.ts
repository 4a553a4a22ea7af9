/** `p99sleuth investigate`: capture live evidence into a bundle, then the same analysis as `analyze`. */
import path from 'node:path';
import { captureKubernetes } from '../capture/kubernetes.js';
import { captureLocal } from '../capture/local.js';
import type { CaptureOptions } from '../capture/engine.js';
import { usageError } from '../errors.js';
import { SCRIPT_NAMES } from '../sources/bpftrace/scripts.js';
import { profileStoreFromFlags, type ProfileStoreFlags } from '../sources/profilestore/index.js';
import { selectorBody } from '../sources/prometheus/queries.js';
import { parsePid } from '../target/local.js';
import { makeLogger } from '../ui/log.js';
import { makeProgress } from '../ui/progress.js';
import { parseDuration } from '../util/duration.js';
import { EXIT } from './exit.js';
import { withInterrupts } from './interrupts.js';
import { kubeCaptureOptions, type KubeFlags } from './kube-flags.js';
import { metricName, profileKinds } from './validate.js';
import { promTarget, type PrometheusFlags } from './prometheus-flags.js';
import { reportOnBundle, type Format } from './report-run.js';
import { parseTargetRef } from '../target/kubernetes/resolve.js';

export interface InvestigateFlags extends PrometheusFlags, KubeFlags, ProfileStoreFlags {
  local?: boolean;
  pid?: string;
  pprof?: string;
  labelSelector?: string;
  pods: string;
  pprofPort: string;
  pprofPath: string;
  nodePod: boolean;
  agentImage: string;
  agentNamespace?: string;
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
  // Validate everything before anything runs: a usage error costs nothing.
  const local = f.local === true;
  if (local && (target.length || f.labelSelector)) throw usageError('--local investigates a process on this machine: give --pid, not a Kubernetes target');
  if (local && !f.pid) throw usageError('--local needs --pid PID', 'e.g. p99sleuth investigate --local --pid $(pgrep -f checkout)');
  if (!local && f.pid) throw usageError('--pid is for a process on this machine: add --local', 'for Kubernetes name the workload instead: p99sleuth investigate deploy/checkout -n shop');
  const pid = local ? parsePid(f.pid!) : undefined;
  const ref = local ? undefined : parseTargetRef(target, f.labelSelector);
  const durationSeconds = parseDuration(f.duration, '--duration', { min: 1, max: 600 });
  const sinceSeconds = parseDuration(f.since, '--since', { min: 60, max: 7 * 86400 });
  if (f.selector) selectorBody(f.selector);
  if (f.nodeSelector) selectorBody(f.nodeSelector);
  metricName(f.latencyMetric);
  const kinds = profileKinds(f.profiles);
  if (f.pprof !== undefined && !/^https?:\/\/[^/]+/.test(f.pprof)) throw usageError(`--pprof ${JSON.stringify(f.pprof)} is not an http(s) URL`);
  if (!local && f.pprof) throw usageError('--pprof is for --local; a pod\'s pprof is reached through kubectl port-forward', 'use --pprof-port and --pprof-path');
  const prometheus = promTarget(f);
  const profileStore = profileStoreFromFlags(f);
  const common: CaptureOptions = {
    prometheus,
    profileStore,
    selector: f.selector,
    nodeSelector: f.nodeSelector,
    latencyMetric: f.latencyMetric,
    sinceSeconds,
    durationSeconds,
    kinds,
    bpfScripts: f.bpf ? SCRIPT_NAMES : [],
  };
  const kube = local ? undefined : await kubeSetup(f);

  let phase: 'resolving' | 'capturing' | 'reporting' = local ? 'capturing' : 'resolving';
  const progress = makeProgress({ quiet: g.quiet });
  const say = () =>
    phase === 'resolving' ? 'stopping; nothing was captured yet'
    : phase === 'capturing' ? 'stopping collectors, keeping the partial bundle'
    : 'finishing the report of the bundle already written';
  try {
    await withInterrupts(async (signal) => {
      const bundles = local
        ? [{ ...(await captureLocal({ ...common, pid: pid!, pprof: f.pprof ? { baseUrl: f.pprof.replace(/\/+$/, '') } : undefined, out: f.out, bpftrace: f.bpftrace }, progress, signal)), pod: undefined }]
        : (await captureKubernetes({ ...common, ...kube!, ref: ref!, out: f.out, onCapturing: () => (phase = 'capturing') }, progress, signal)).results;
      progress.stop();
      phase = 'reporting';
      await reportAll(bundles, f, g);
      // A signal during the analysis still means the run was interrupted (its report is complete, though).
      if (signal.aborted) process.exitCode = EXIT.interrupted;
    }, say);
  } finally {
    progress.stop();
  }
}

async function kubeSetup(f: InvestigateFlags) {
  const pods = Number(f.pods);
  if (!Number.isInteger(pods) || pods < 1 || pods > 20) throw usageError(`--pods ${JSON.stringify(f.pods)} must be a whole number from 1 to 20`);
  return { ...(await kubeCaptureOptions(f)), pods };
}

/**
 * Analyse each bundle like `analyze`. Several pods give several reports: one after the other under a
 * heading in text and Markdown, one JSON array with --format json (still one JSON document).
 */
async function reportAll(bundles: Array<{ dir: string; interrupted: boolean; pod?: string }>, f: InvestigateFlags, g: GlobalFlags & { useColor: boolean }): Promise<void> {
  const log = makeLogger(g);
  let found = false;
  const several = bundles.length > 1;
  const reports = [];
  for (const b of bundles) {
    log.info(`bundle written to ${b.dir}${b.interrupted ? ' (partial)' : ''}`);
    if (several && f.format === 'text') process.stdout.write(`\n== pod ${b.pod} ==\n`);
    if (several && f.format === 'markdown') process.stdout.write(`\n# pod ${b.pod}\n\n`);
    const report = await reportOnBundle(b.dir, { format: f.format, out: path.join(b.dir, 'report'), color: g.useColor, flamegraphs: f.flamegraphs, print: !(several && f.format === 'json') }, log);
    reports.push(report);
    found ||= report.verdict === 'cause-found';
  }
  if (several && f.format === 'json') process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  if (bundles.some((b) => b.interrupted)) process.exitCode = EXIT.interrupted;
  else if (f.exitCode && found) process.exitCode = EXIT.causeFound;
}
