/** `p99sleuth investigate`: capture live evidence into a bundle, then the same analysis as `analyze`. */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { captureKubernetes } from '../capture/kubernetes.js';
import { captureLocal } from '../capture/local.js';
import type { CaptureOptions } from '../capture/engine.js';
import { PROFILE_KINDS, type ProfileKind } from '../evidence/model.js';
import { usageError } from '../errors.js';
import { SCRIPT_NAMES } from '../sources/bpftrace/scripts.js';
import { profileStoreFromFlags, type ProfileStoreFlags } from '../sources/profilestore/index.js';
import { selectorBody } from '../sources/prometheus/queries.js';
import { parsePid } from '../target/local.js';
import { makeLogger } from '../ui/log.js';
import { makeProgress } from '../ui/progress.js';
import { runEmergencyCleanups } from '../util/cleanup.js';
import { parseDuration } from '../util/duration.js';
import { EXIT } from './exit.js';
import { kubeFlags, type KubeFlags } from './kube-flags.js';
import { promTarget, type PrometheusFlags } from './prometheus-flags.js';
import { reportOnBundle, type Format } from './report-run.js';
import { imageRef, portNumber } from '../target/kubernetes/names.js';
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
  if (f.latencyMetric && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.latencyMetric)) throw usageError(`--latency-metric ${JSON.stringify(f.latencyMetric)} is not a metric name`);
  const kinds = f.profiles.split(',').map((k) => k.trim()) as ProfileKind[];
  for (const k of kinds) if (!PROFILE_KINDS.includes(k)) throw usageError(`--profiles: unknown profile "${k}"`, `choose from ${PROFILE_KINDS.join(',')}`);
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

  const ac = new AbortController();
  // Every concurrent request listens on the one signal; more than Node's default of 10 is expected.
  setMaxListeners(200, ac.signal);
  let signals = 0;
  let capturing = true;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    // First Ctrl-C: stop capturing, clean up, keep and analyse what exists. Second: leave now,
    // still deleting the node pod (synchronously) on the way out.
    if (signals > 1) {
      runEmergencyCleanups();
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(capturing ? `\np99sleuth: ${sig}: stopping collectors, keeping the partial bundle (Ctrl-C again to quit at once)\n` : `\np99sleuth: ${sig}: finishing the report of the bundle already written (Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = makeProgress({ quiet: g.quiet });
  try {
    const bundles = local
      ? [{ ...(await captureLocal({ ...common, pid: pid!, pprof: f.pprof ? { baseUrl: f.pprof.replace(/\/+$/, '') } : undefined, out: f.out, bpftrace: f.bpftrace }, progress, ac.signal)), pod: undefined }]
      : (await captureKubernetes({ ...common, ...kube!, ref: ref!, out: f.out }, progress, ac.signal)).results;
    progress.stop();
    capturing = false;
    await reportAll(bundles, f, g);
    // A signal during the analysis still means the run was interrupted (its report is complete, though).
    if (ac.signal.aborted) process.exitCode = EXIT.interrupted;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function kubeSetup(f: InvestigateFlags) {
  const k = kubeFlags(f);
  const pods = Number(f.pods);
  if (!Number.isInteger(pods) || pods < 1 || pods > 20) throw usageError(`--pods ${JSON.stringify(f.pods)} must be a whole number from 1 to 20`);
  if (!/^\/[A-Za-z0-9_.~\-/]*$/.test(f.pprofPath)) throw usageError(`--pprof-path ${JSON.stringify(f.pprofPath)} is not a URL path`, 'e.g. /debug/pprof');
  return {
    kubectl: k.kubectl,
    namespace: await k.namespace(),
    container: k.container,
    pods,
    pprofPort: portNumber(f.pprofPort, '--pprof-port'),
    pprofPath: f.pprofPath.replace(/\/+$/, ''),
    nodePod: f.nodePod,
    agentImage: imageRef(f.agentImage),
    agentNamespace: f.agentNamespace === undefined ? undefined : k.validNamespace(f.agentNamespace),
  };
}

/** Analyse each bundle like `analyze`; several pods give several reports, one after the other. */
async function reportAll(bundles: Array<{ dir: string; interrupted: boolean; pod?: string }>, f: InvestigateFlags, g: GlobalFlags & { useColor: boolean }): Promise<void> {
  const log = makeLogger(g);
  let found = false;
  for (const b of bundles) {
    log.info(`bundle written to ${b.dir}${b.interrupted ? ' (partial)' : ''}`);
    if (bundles.length > 1 && f.format === 'text') process.stdout.write(`\n== pod ${b.pod} ==\n`);
    const report = await reportOnBundle(b.dir, { format: f.format, out: path.join(b.dir, 'report'), color: g.useColor, flamegraphs: f.flamegraphs }, log);
    found ||= report.verdict === 'cause-found';
  }
  if (bundles.some((b) => b.interrupted)) process.exitCode = EXIT.interrupted;
  else if (f.exitCode && found) process.exitCode = EXIT.causeFound;
}
