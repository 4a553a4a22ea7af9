/**
 * `investigate deploy/NAME -n NS`: Kubernetes pods as capture targets, through kubectl alone.
 * pprof comes over `kubectl port-forward`; kernel evidence (procfs/cgroup reads and bpftrace) from a
 * short-lived node pod on the pod's node via `kubectl exec`; Prometheus series by the pod's labels.
 * The capture itself is the engine's, the same as for a local process. Everything started here is
 * stopped on every way out: the forward is killed and the node pod deleted in `finally`.
 */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { SleuthError, describe } from '../errors.js';
import type { PromTarget } from '../sources/prometheus/capture.js';
import { p99ByPod, selectorForPod } from '../sources/prometheus/discover.js';
import type { Kubectl } from '../target/kubernetes/kubectl.js';
import { startNodePod, type NodePod } from '../target/kubernetes/nodepod.js';
import { cgroupNamesContainer, mainProcess, NodeShell, podListenPorts } from '../target/kubernetes/node-shell.js';
import { startPortForward, type PortForward } from '../target/kubernetes/portforward.js';
import { choosePods, listTargetPods, podInfo, type PodInfo, type TargetRef } from '../target/kubernetes/resolve.js';
import type { Progress } from '../ui/progress.js';
import { captureTarget, defaultOut, type CaptureOptions, type CaptureResult, type CaptureTarget } from './engine.js';

export interface KubernetesOptions extends CaptureOptions {
  kubectl: Kubectl;
  namespace: string;
  ref: TargetRef;
  container?: string;
  /** How many of the workload's pods to investigate (concurrently). */
  pods: number;
  pprofPort: number;
  /** Path of net/http/pprof on that port (default /debug/pprof). */
  pprofPath: string;
  /** False with --no-node-pod: pprof and Prometheus only. */
  nodePod: boolean;
  agentImage: string;
  agentNamespace?: string;
  out?: string;
  /** Told when the pods are resolved and capturing begins (for what Ctrl-C then means). */
  onCapturing?: () => void;
}

export interface PodResult extends CaptureResult {
  pod: string;
}

export async function captureKubernetes(o: KubernetesOptions, progress: Progress, signal: AbortSignal): Promise<{ results: PodResult[]; reason: string }> {
  const objects = await listTargetPods(o.kubectl, o.ref, o.namespace, signal);
  const infos = objects.map((p) => podInfo(p, o.container));
  let ranking: Map<string, number> | undefined;
  if (o.prometheus && infos.length > 1) {
    ranking = await p99ByPod(o.prometheus, o.namespace, infos.map((p) => p.name), o.latencyMetric, '5m', signal).catch((err) => {
      progress.note(`cannot rank pods by P99: ${describe(err)}`);
      return undefined;
    });
  }
  const choice = choosePods(infos, o.pods, o.ref, ranking);
  progress.note(`investigating ${choice.reason}`);
  o.onCapturing?.();
  const base = o.out ?? defaultOut(o.ref.kind === 'selector' ? 'pods' : o.ref.name);
  // One pod failing stops the others (their node pods and forwards are cleaned up by their own
  // finally blocks), and nothing returns before every capture has settled.
  const each = new AbortController();
  setMaxListeners(200, each.signal);
  const stopAll = () => each.abort();
  signal.addEventListener('abort', stopAll, { once: true });
  try {
    const settled = await Promise.allSettled(
      choice.pods.map((pod) =>
        capturePod(pod, choice.pods.length > 1 ? path.join(base, pod.name) : base, choice.reason, o, progress, each.signal).then(
          (r) => ({ pod: pod.name, ...r }),
          (err: unknown) => {
            each.abort();
            throw err;
          },
        ),
      ),
    );
    const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    // The cause, not the "interrupted" of the captures it stopped.
    if (failures.length) throw failures.find((e) => !(e instanceof SleuthError && e.kind === 'interrupted')) ?? failures[0];
    return { results: settled.map((r) => (r as PromiseFulfilledResult<PodResult>).value), reason: choice.reason };
  } finally {
    signal.removeEventListener('abort', stopAll);
  }
}

async function capturePod(pod: PodInfo, out: string, chosen: string, o: KubernetesOptions, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  let forward: PortForward | undefined;
  let nodePod: NodePod | undefined;
  try {
    // pprof and the node pod start together: both take a few seconds on a real cluster. Both are
    // awaited to the end even if one fails, so that `finally` knows of a node pod created meanwhile.
    const [fwdR, kernelR] = await Promise.allSettled([forwardPprof(pod, o, signal), nodeAccess(pod, o, progress, signal, (p) => (nodePod = p))]);
    if (fwdR.status === 'fulfilled') forward = fwdR.value.forward;
    if (fwdR.status === 'rejected') throw fwdR.reason;
    if (kernelR.status === 'rejected') throw kernelR.reason;
    const [fwd, kernel] = [fwdR.value, kernelR.value];
    const pprofMissing = fwd.error;
    const t: CaptureTarget = {
      description: {
        kind: 'kubernetes',
        description: describePod(pod),
        pid: kernel.pid,
        ports: kernel.ports,
        kubernetes: {
          namespace: pod.namespace,
          pod: pod.name,
          container: pod.container,
          node: pod.node,
          uid: pod.uid,
          containerId: pod.containerId ? `${pod.containerId.runtime}://${pod.containerId.id}` : undefined,
          qosClass: pod.qosClass,
          resources: pod.resources,
          restarts: pod.restarts,
          lastTermination: pod.lastTermination,
          chosen,
          nodePod: kernel.nodePodName,
        },
      },
      pid: kernel.pid,
      pprof: forward ? { baseUrl: `http://127.0.0.1:${forward.localPort}${o.pprofPath}` } : undefined,
      pprofMissing: () => pprofMissing ?? new SleuthError('unavailable', 'no pprof endpoint'),
      pprofBroken: forward ? () => forward?.deathReason() : undefined,
      // Not tied to Ctrl-C: the second read after an interrupt still gives a valid, shorter delta
      // (each exec has its own timeout).
      reader: kernel.shell?.reader(),
      // The node pod mounts the host's cgroup tree at the usual place (nodepod.ts).
      procfsOptions: { cgroupRoot: '/sys/fs/cgroup' },
      kernelMissing: kernel.missing,
      bpftrace: { command: kernel.shell?.bpftraceCommand() },
      nodeNames: [pod.node, pod.hostIP].filter((x): x is string => !!x),
      containerSelector: `{namespace=${JSON.stringify(pod.namespace)},pod=${JSON.stringify(pod.name)},container=${JSON.stringify(pod.container)}}`,
      findSelector: async (prom: PromTarget, sig: AbortSignal) => {
        const selector = await selectorForPod(prom, pod.namespace, pod.name, sig);
        return selector ? { selector } : { note: `Prometheus has no series with namespace="${pod.namespace}",pod="${pod.name}": pass --selector` };
      },
    };
    // Without a node pod, procfs fails with the reason and bpftrace is recorded as not run, with it.
    const opts: CaptureOptions = kernel.shell || !o.bpfScripts.length ? o : { ...o, bpfScripts: [], bpfOffReason: `kernel tracing not run: ${kernel.missing}` };
    return await captureTarget(t, opts, out, progress, signal);
  } finally {
    await Promise.all([forward?.stop(), nodePod?.delete()]);
  }
}

async function forwardPprof(pod: PodInfo, o: KubernetesOptions, signal: AbortSignal): Promise<{ forward?: PortForward; error?: SleuthError }> {
  try {
    return { forward: await startPortForward(o.kubectl, pod.namespace, pod.name, o.pprofPort, { signal }) };
  } catch (err) {
    if (err instanceof SleuthError && err.kind === 'interrupted') throw err;
    const e = err instanceof SleuthError ? err : new SleuthError('unavailable', describe(err));
    return { error: e };
  }
}

interface KernelAccess {
  shell?: NodeShell;
  pid?: number;
  ports?: number[];
  nodePodName?: string;
  missing?: string;
}

/** The node pod, and the target container's main process on the node as seen from it. */
async function nodeAccess(pod: PodInfo, o: KubernetesOptions, progress: Progress, signal: AbortSignal, created: (p: NodePod) => void): Promise<KernelAccess> {
  if (!o.nodePod) return { missing: '--no-node-pod: kernel evidence not collected' };
  if (!pod.node) return { missing: `pod ${pod.name} is not scheduled on a node` };
  let nodePod: NodePod;
  try {
    nodePod = await startNodePod(
      o.kubectl,
      { namespace: o.agentNamespace ?? pod.namespace, node: pod.node, image: o.agentImage, lifetimeSeconds: o.durationSeconds + 300 },
      { signal, onCreated: created },
    );
  } catch (err) {
    if (err instanceof SleuthError && err.kind === 'interrupted') throw err;
    const hint = err instanceof SleuthError && err.hint ? ` (${err.hint})` : '';
    progress.note(`no kernel evidence: ${describe(err)}${hint}`);
    return { missing: `node pod not available: ${describe(err)}${hint}` };
  }
  progress.note(`node pod ${nodePod.namespace}/${nodePod.name} running on ${nodePod.node}`);
  const shell = new NodeShell(o.kubectl, nodePod);
  const found = await findContainerProcess(shell, pod, signal).catch((err: unknown) => ({ error: describe(err) }));
  if ('error' in found) return { nodePodName: nodePod.name, missing: found.error };
  return { shell, pid: found.pid, ports: await podListenPorts(shell.reader(signal), found.pid), nodePodName: nodePod.name };
}

async function findContainerProcess(shell: NodeShell, pod: PodInfo, signal: AbortSignal): Promise<{ pid: number } | { error: string }> {
  if (!pod.containerId) return { error: `container ${pod.container} of pod ${pod.name} has no container ID yet (is it running?)` };
  const pids = await shell.containerPids(pod.containerId.id, signal);
  if (!pids.length) return { error: `no process on node ${pod.node} is in a cgroup of container ${pod.containerId.id.slice(0, 12)} (${pod.containerId.runtime})` };
  const reader = shell.reader(signal);
  const statuses = new Map(await Promise.all(pids.map(async (p) => [p, await reader.read(`/proc/${p}/status`)] as const)));
  const pid = mainProcess(statuses);
  if (signal.aborted) return { error: 'interrupted while finding the container\'s process' };
  if (pid === undefined) return { error: `the processes of container ${pod.containerId.id.slice(0, 12)} exited while being looked up` };
  const cgroup = (await reader.read(`/proc/${pid}/cgroup`)) ?? '';
  if (!cgroupNamesContainer(cgroup, pod.uid, pod.containerId.id)) {
    return { error: `process ${pid} names container ${pod.containerId.id.slice(0, 12)} but not pod UID ${pod.uid} in its cgroup: refusing to trace a process that may not be the target` };
  }
  return { pid };
}

/** One line for the report: where the pod runs, what it may use, and how it has been restarting. */
export function describePod(p: PodInfo): string {
  const r = p.resources;
  const cores = (c?: number) => (c === undefined ? undefined : c < 1 ? `${Math.round(c * 1000)}m` : String(c));
  const mib = (b?: number) => (b === undefined ? undefined : `${Math.round(b / 2 ** 20)}Mi`);
  const limits = [cores(r.cpuLimitCores) && `cpu ${cores(r.cpuLimitCores)}`, mib(r.memoryLimitBytes) && `memory ${mib(r.memoryLimitBytes)}`].filter(Boolean).join(', ');
  const parts = [
    `container ${p.container}${p.node ? ` on node ${p.node}` : ''}`,
    p.qosClass && `QoS ${p.qosClass}`,
    limits ? `limits ${limits}` : 'no limits',
    p.restarts ? `${p.restarts} restart${p.restarts > 1 ? 's' : ''}${p.lastTermination?.reason ? `, last ${p.lastTermination.reason}${p.lastTermination.finishedAt ? ` at ${p.lastTermination.finishedAt}` : ''}` : ''}` : undefined,
  ].filter(Boolean);
  return `pod ${p.namespace}/${p.name} (${parts.join('; ')})`;
}
