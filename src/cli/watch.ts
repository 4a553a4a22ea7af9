/**
 * `p99sleuth watch`: stay attached to a service, poll its P99 (Prometheus, or its own /metrics), and
 * capture a spike bundle the moment P99 stays above a threshold — each with a calm-period baseline to
 * diff against. stdout carries one line per event (JSON Lines with --format json); progress goes to
 * stderr. SIGINT/SIGTERM stop the capture under way (its partial bundle is kept) and exit 130.
 */
import path from 'node:path';
import { Option, type Command } from '@commander-js/extra-typings';
import { captureKubernetes } from '../capture/kubernetes.js';
import { captureLocal } from '../capture/local.js';
import type { CaptureOptions } from '../capture/engine.js';
import { SleuthError, usageError } from '../errors.js';
import { SCRIPT_NAMES } from '../sources/bpftrace/scripts.js';
import { selectorBody } from '../sources/prometheus/queries.js';
import { findPprof, inspectProcess, notFoundPprof, parsePid } from '../target/local.js';
import { portNumber } from '../target/kubernetes/names.js';
import { DEFAULT_AGENT_IMAGE } from '../target/kubernetes/nodepod.js';
import type { Kubectl } from '../target/kubernetes/kubectl.js';
import { startPortForward, type PortForward } from '../target/kubernetes/portforward.js';
import { choosePods, describeRef, listTargetPods, podInfo, parseTargetRef, type TargetRef } from '../target/kubernetes/resolve.js';
import { makeProgress } from '../ui/progress.js';
import { parseDuration, promDuration } from '../util/duration.js';
import { formatEvent, type WatchEvent } from '../watch/events.js';
import { followingPoller, metricsPoller, prometheusPoller, type P99Poller } from '../watch/poll.js';
import { selectorForPort } from '../sources/prometheus/discover.js';
import { runWatch, type WatchConfig, type WatchTarget } from '../watch/run.js';
import { EXIT } from './exit.js';
import { withInterrupts } from './interrupts.js';
import type { GlobalFlags } from './investigate.js';
import { kubeCaptureOptions, type KubeFlags } from './kube-flags.js';
import { metricName, profileKinds, urlPath } from './validate.js';
import { kubeOptions, prometheusAuthOptions, withOptions } from './options.js';
import { promTarget, type PrometheusFlags } from './prometheus-flags.js';

/** The flags of `watch`, as Commander parses them. */
export interface WatchFlags extends PrometheusFlags, KubeFlags {
  threshold?: string;
  for: string;
  cooldown: string;
  maxBundles: string;
  baselineEvery: string;
  duration: string;
  interval: string;
  rateWindow: string;
  outDir: string;
  local?: boolean;
  pid?: string;
  pprof?: string;
  metrics?: string;
  labelSelector?: string;
  pprofPort: string;
  pprofPath: string;
  metricsPort?: string;
  metricsPath: string;
  nodePod: boolean;
  agentImage: string;
  agentNamespace?: string;
  selector?: string;
  latencyMetric?: string;
  profiles: string;
  bpf: boolean;
  bpftrace: string;
  format: 'text' | 'json';
  flamegraphs: boolean;
}

const WATCH_HELP = `
Examples:
  p99sleuth watch --local --pid $(pgrep -f checkout) --threshold 250ms
  p99sleuth watch --local --pid 4242 --threshold 250ms --for 30s --cooldown 10m --max-bundles 5
  p99sleuth watch --local --pid 4242 --prometheus http://127.0.0.1:9090 --threshold 300ms --format json
  p99sleuth watch deploy/checkout -n shop --prometheus http://prometheus.monitoring:9090 --threshold 250ms

Each event is one line on stdout (with --format json, one JSON object per line):
  2026-11-21T01:02:03Z spike p99=412ms>250ms for 30s → captured p99sleuth-watch/spike-20261121T010203Z; top cause: lock-contention (0.91)
Spike bundles are <out-dir>/spike-<UTC time> with the analysis in <bundle>/report; the latest calm
baseline (CPU, heap and goroutine profiles only) is kept in <out-dir>/baselines and copied into each
spike bundle as window "baseline". Without --prometheus, a pod's own /metrics is read through a
kubectl port-forward held for the watch (--metrics-port, --metrics-path).

Exit codes of watch:
  0    never while watching (watch runs until stopped)
  2    usage error (bad flag or target, no such PID)
  4    the target could not be reached at start (no pprof endpoint, kubectl failed)
  130  stopped by SIGINT/SIGTERM (the capture under way is kept as a partial bundle)`;

/** Add `watch` to the program. */
export function registerWatch(program: Command, global: () => GlobalFlags): void {
  const cmd = program
    .command('watch')
    .description('poll P99 and capture a spike bundle (with a calm baseline to diff against) whenever it stays above a threshold')
    .argument('[target...]', 'Kubernetes target: deploy/NAME, pod/NAME, statefulset/NAME, daemonset/NAME (or -l SELECTOR)')
    .option('--threshold <duration>', 'P99 above this is a breach, e.g. 250ms (required)')
    .option('--for <duration>', 'how long P99 must stay above the threshold before a capture', '30s')
    .option('--cooldown <duration>', 'minimum time between spike captures', '5m')
    .option('--max-bundles <n>', 'spike bundles kept; the oldest this watch wrote are deleted beyond it', '10')
    .option('--baseline-every <duration>', 'capture a calm-period baseline this often while P99 is below the threshold', '10m')
    .option('--duration <duration>', 'profile length of each capture (spike and baseline)', '15s')
    .option('--interval <duration>', 'how often P99 is read', '5s')
    .option('--rate-window <duration>', 'with --prometheus: the rate() window of the P99 query', '1m')
    .option('--out-dir <dir>', 'where spike bundles and the baseline are written', 'p99sleuth-watch')
    .option('--local', 'watch a process on this machine (with --pid)', false)
    .option('--pid <pid>', 'the Go process to watch (with --local)')
    .option('--pprof <url>', 'its net/http/pprof base URL (default: found on the ports the process listens on)')
    .option('--metrics <url>', 'its Prometheus /metrics URL, read when there is no --prometheus (default: /metrics beside pprof)')
    .option('--metrics-port <port>', 'Kubernetes without --prometheus: the container port serving /metrics (default: --pprof-port)')
    .option('--metrics-path <path>', 'the path of the metrics page on that port', '/metrics')
    .option('-l, --label-selector <selector>', 'watch pods by label, e.g. app=checkout')
    .option('-c, --container <name>', 'container in the pod (default: the default-container annotation, else the first)')
    .option('--pprof-port <port>', 'the container port serving net/http/pprof (reached with kubectl port-forward)', '6060')
    .option('--pprof-path <path>', 'the pprof path on that port', '/debug/pprof')
    .option('--no-node-pod', 'on a spike, do not start the node pod (pprof and Prometheus only)')
    .option('--agent-image <image>', 'image of the node pod (needs bpftrace, sh, grep)', DEFAULT_AGENT_IMAGE)
    .option('--agent-namespace <namespace>', 'namespace for the node pod (default: the target\'s)')
    .option('--prometheus <url>', 'Prometheus-compatible HTTP API to poll P99 from (default: the target\'s own /metrics)')
    .option('--selector <selector>', 'PromQL label matchers for the service (default: locally the target scraping the pprof port; in Kubernetes the workload\'s pods)')
    .option('--latency-metric <name>', 'latency histogram (default: first of http_request_duration_seconds, http_server_request_duration_seconds, grpc_server_handling_seconds)')
    .option('--profiles <kinds>', 'profiles of a spike capture', 'cpu,goroutine,mutex,block,heap,allocs')
    .option('--no-bpf', 'do not run the bpftrace scripts on a spike')
    .option('--bpftrace <path>', 'the bpftrace binary', 'bpftrace')
    .addOption(new Option('--format <format>', 'event lines on stdout').choices(['text', 'json'] as const).default('text' as const))
    .option('--no-flamegraphs', 'do not write flame graphs into spike reports')
    .addHelpText('after', WATCH_HELP);
  withOptions(cmd, [...kubeOptions(), ...prometheusAuthOptions()]).action(async (target, o) => {
    await watch(target, o as typeof o & PrometheusFlags & KubeFlags, global());
  });
}

/** Validate the flags, build the target, and watch until SIGINT/SIGTERM. */
export async function watch(args: string[], f: WatchFlags, g: GlobalFlags): Promise<void> {
  if (!f.threshold) throw usageError('watch needs --threshold, the P99 that counts as a spike', 'e.g. p99sleuth watch --local --pid 4242 --threshold 250ms');
  const local = f.local === true;
  if (local && (args.length || f.labelSelector)) throw usageError('--local watches a process on this machine: give --pid, not a Kubernetes target');
  if (local && !f.pid) throw usageError('--local needs --pid PID', 'e.g. p99sleuth watch --local --pid $(pgrep -f checkout) --threshold 250ms');
  if (!local && f.pid) throw usageError('--pid is for a process on this machine: add --local');
  if (!local && (f.pprof || f.metrics)) throw usageError('--pprof and --metrics are for --local; a pod\'s pprof is reached through kubectl port-forward');
  const config: WatchConfig = {
    thresholdSeconds: parseDuration(f.threshold, '--threshold', { min: 0.000001, max: 3600 }),
    forSeconds: parseDuration(f.for, '--for', { min: 0, max: 86400 }),
    cooldownSeconds: parseDuration(f.cooldown, '--cooldown', { min: 0, max: 7 * 86400 }),
    baselineEverySeconds: parseDuration(f.baselineEvery, '--baseline-every', { min: 1, max: 7 * 86400 }),
    durationSeconds: parseDuration(f.duration, '--duration', { min: 1, max: 600 }),
    intervalSeconds: parseDuration(f.interval, '--interval', { min: 0.1, max: 3600 }),
    maxBundles: wholeNumber(f.maxBundles, '--max-bundles', 1, 10_000),
    outDir: path.resolve(f.outDir),
    flamegraphs: f.flamegraphs,
  };
  const rateWindow = promDuration(parseDuration(f.rateWindow, '--rate-window', { min: 1, max: 86400 }));
  if (f.selector) selectorBody(f.selector);
  metricName(f.latencyMetric);
  const kinds = profileKinds(f.profiles);
  for (const [flag, url] of [['--pprof', f.pprof], ['--metrics', f.metrics]] as const) if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) throw usageError(`${flag} ${JSON.stringify(url)} is not an http(s) URL`);
  const prometheus = promTarget(f);
  urlPath(f.metricsPath, '--metrics-path');
  const common: CaptureOptions = {
    prometheus,
    selector: f.selector,
    latencyMetric: f.latencyMetric,
    sinceSeconds: 1800,
    durationSeconds: config.durationSeconds,
    kinds,
    bpfScripts: f.bpf ? SCRIPT_NAMES : [],
  };
  const ref = local ? undefined : parseTargetRef(args, f.labelSelector);

  const progress = makeProgress({ quiet: g.quiet });
  let t: WatchTarget | undefined;
  const emit = (e: WatchEvent) => process.stdout.write(formatEvent(e, new Date(), f.format) + '\n');
  try {
    // First signal: stop the capture under way and the polling, keep the partial bundle.
    await withInterrupts(async (signal) => {
      t = local ? await localTarget(f, common, rateWindow, signal) : await kubeTarget(f, ref!, common, rateWindow, signal);
      emit({ kind: 'start', target: t.description, source: t.poller.source, thresholdSeconds: config.thresholdSeconds, forSeconds: config.forSeconds });
      const r = await runWatch(t, config, { emit, progress }, signal);
      emit({ kind: 'stop', reason: signal.aborted ? 'signal' : 'done', spikes: r.spikes, baselines: r.baselines });
      if (signal.aborted) process.exitCode = EXIT.interrupted;
    }, () => 'stopping');
  } finally {
    await t?.close?.();
    progress.stop();
  }
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${flag} ${JSON.stringify(text)} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A process on this machine: pprof on one of its ports (or --pprof), P99 from Prometheus or its /metrics. */
async function localTarget(f: WatchFlags, common: CaptureOptions, rateWindow: string, signal: AbortSignal): Promise<WatchTarget> {
  const proc = await inspectProcess(parsePid(f.pid!));
  const base = f.pprof?.replace(/\/+$/, '') ?? (await findPprof(proc.listenPorts, signal));
  if (!base) throw notFoundPprof(proc);
  let promPoller: P99Poller | undefined;
  if (common.prometheus) {
    // Without --selector, the series Prometheus scrapes from the pprof port: never every service's.
    const port = Number(new URL(base).port);
    const selector = f.selector ?? (port ? await selectorForPort(common.prometheus, port, signal) : undefined);
    if (!selector) throw usageError(`no Prometheus target scrapes port ${port || '(none)'} of pid ${proc.pid}: pass --selector with the service's label matchers`, 'e.g. --selector \'{job="checkout"}\'');
    promPoller = prometheusPoller(common.prometheus, selector, f.latencyMetric, rateWindow);
  }
  const pprof = { baseUrl: base };
  const description = `pid ${proc.pid} (${proc.comm})`;
  return {
    description,
    // A Go service serves /metrics beside /debug/pprof on the same listener, as the lab service does.
    poller: promPoller ?? metricsPoller(f.metrics ?? `${new URL(base).origin}/metrics`, f.latencyMetric),
    baselinePprof: async () => ({ pprof, target: { kind: 'local', description, pid: proc.pid, ports: proc.listenPorts, pprofUrl: base }, release: async () => undefined }),
    captureSpike: (out, progress, sig) => captureLocal({ ...common, pid: proc.pid, pprof, out, bpftrace: f.bpftrace }, progress, sig),
  };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pods' series by name, for a workload whose pods come and go (ReplicaSet hashes, ordinals). */
function podSelector(ref: TargetRef, namespace: string, podNames: string[]): string {
  const n = ref.kind === 'selector' ? '' : escapeRe(ref.name);
  const pod =
    ref.kind === 'pod' ? n
    // <deployment>-<pod-template-hash>-<5 chars>: strict enough that deploy/checkout does not also
    // match the pods of a DaemonSet checkout-agent or a StatefulSet checkout-db.
    : ref.kind === 'deployment' ? `${n}-[a-z0-9]{5,10}-[a-z0-9]{5}`
    : ref.kind === 'statefulset' ? `${n}-[0-9]+`
    : ref.kind === 'selector' ? podNames.map(escapeRe).join('|')
    : `${n}-[a-z0-9]{5}`;
  return `{namespace=${JSON.stringify(namespace)},pod=~${JSON.stringify(pod)}}`;
}

/** A Kubernetes workload: P99 from Prometheus, baselines over a short port-forward, spikes like investigate. */
async function kubeTarget(f: WatchFlags, ref: TargetRef, common: CaptureOptions, rateWindow: string, signal: AbortSignal): Promise<WatchTarget> {
  const kube = { ...(await kubeCaptureOptions(f)), pods: 1 };
  const pods = (await listTargetPods(kube.kubectl, ref, kube.namespace, signal)).map((p) => podInfo(p, kube.container));
  const metrics = common.prometheus ? undefined : forwardedMetrics(kube, ref, f.metricsPort === undefined ? kube.pprofPort : portNumber(f.metricsPort, '--metrics-port'), urlPath(f.metricsPath, '--metrics-path'), f.latencyMetric);
  const fromProm = (names: string[]) => prometheusPoller(common.prometheus!, f.selector ?? podSelector(ref, kube.namespace, names), f.latencyMetric, rateWindow);
  const names = pods.map((p) => p.name);
  // A label selector's series are named pod by pod, and its pods are replaced over a long watch:
  // follow them. A workload's pod-name pattern already covers its future pods.
  const listNames = async (sig: AbortSignal) => (await listTargetPods(kube.kubectl, ref, kube.namespace, sig)).map((p) => p.metadata.name);
  return {
    description: `${describeRef(ref)} in ${kube.namespace}`,
    poller: metrics?.poller ?? (ref.kind === 'selector' && !f.selector ? followingPoller(listNames, names, fromProm) : fromProm(names)),
    close: metrics?.close,
    async baselinePprof(sig) {
      const infos = (await listTargetPods(kube.kubectl, ref, kube.namespace, sig)).map((p) => podInfo(p, kube.container));
      const pod = choosePods(infos, 1, ref).pods[0];
      const forward = await startPortForward(kube.kubectl, pod.namespace, pod.name, kube.pprofPort, { signal: sig });
      return {
        pprof: { baseUrl: `http://127.0.0.1:${forward.localPort}${kube.pprofPath}` },
        target: { kind: 'kubernetes', description: `pod ${pod.namespace}/${pod.name} (container ${pod.container})`, kubernetes: { namespace: pod.namespace, pod: pod.name, container: pod.container, node: pod.node } },
        release: () => forward.stop(),
      };
    },
    captureSpike: async (out, progress, sig) => (await captureKubernetes({ ...common, ...kube, selector: f.selector, ref, out }, progress, sig)).results[0],
  };
}

/**
 * Without Prometheus, a pod's own /metrics through a port-forward held for the whole watch. A forward
 * that breaks (the pod restarted or was replaced) is opened again at the next poll, to the pod then
 * chosen, with fresh counters: a different process's histogram is not a continuation of the last.
 */
function forwardedMetrics(kube: { kubectl: Kubectl; namespace: string; container?: string }, ref: TargetRef, port: number, metricsPath: string, latencyMetric: string | undefined): { poller: P99Poller; close(): Promise<void> } {
  let forward: PortForward | undefined;
  let inner: P99Poller | undefined;
  let pod = '';
  const close = async () => {
    await forward?.stop();
    forward = undefined;
  };
  return {
    close,
    poller: {
      source: `/metrics of ${describeRef(ref)} in ${kube.namespace} via kubectl port-forward :${port}`,
      async poll(signal) {
        if (forward?.deathReason()) await close();
        if (!forward) {
          const infos = (await listTargetPods(kube.kubectl, ref, kube.namespace, signal)).map((p) => podInfo(p, kube.container));
          pod = choosePods(infos, 1, ref).pods[0].name;
          forward = await startPortForward(kube.kubectl, kube.namespace, pod, port, { signal });
          inner = metricsPoller(`http://127.0.0.1:${forward.localPort}${metricsPath}`, latencyMetric);
        }
        return inner!.poll(signal).catch((err: unknown) => {
          throw err instanceof SleuthError ? new SleuthError(err.kind, `pod ${pod}: ${err.message}`, err.hint) : err;
        });
      },
    },
  };
}
