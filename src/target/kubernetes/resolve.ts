/**
 * From what the user typed (`deploy/checkout -n shop`, `pod/…`, `-l app=checkout`) to the pods to
 * investigate and the facts about each that the analysis uses: node, UID, container ID, QoS class,
 * requests and limits, restarts and the last termination (OOMKilled). Reads only.
 */
import { SleuthError, usageError } from '../../errors.js';
import type { Kubectl } from './kubectl.js';
import { labelSelector, objectName, parseContainerId } from './names.js';

export type WorkloadKind = 'pod' | 'deployment' | 'statefulset' | 'daemonset' | 'replicaset';
export type TargetRef = { kind: WorkloadKind; name: string } | { kind: 'selector'; selector: string };

const KINDS: Record<string, WorkloadKind> = {
  pod: 'pod', pods: 'pod', po: 'pod',
  deploy: 'deployment', deployment: 'deployment', deployments: 'deployment',
  sts: 'statefulset', statefulset: 'statefulset', statefulsets: 'statefulset',
  ds: 'daemonset', daemonset: 'daemonset', daemonsets: 'daemonset',
  rs: 'replicaset', replicaset: 'replicaset', replicasets: 'replicaset',
};

/** `deploy/checkout`, `deploy checkout`, `checkout-7d9f…` (a pod, as kubectl reads a bare name) or `-l SELECTOR`. */
export function parseTargetRef(args: string[], selector?: string): TargetRef {
  if (selector !== undefined) {
    if (args.length) throw usageError('give either a target (deploy/NAME, pod/NAME) or -l SELECTOR, not both');
    return { kind: 'selector', selector: labelSelector(selector) };
  }
  if (args.length === 0) throw usageError('nothing to investigate', 'name a Kubernetes target (deploy/checkout -n shop, pod/NAME, -l app=checkout) or use --local --pid PID');
  let [kind, name] = args.length === 1 ? (args[0].includes('/') ? args[0].split('/', 2) : ['pod', args[0]]) : args;
  if (args.length > 2 || (args.length === 1 && args[0].split('/').length > 2)) throw usageError(`cannot read the target ${JSON.stringify(args.join(' '))}`, 'one target: TYPE/NAME, e.g. deploy/checkout');
  const k = KINDS[kind.toLowerCase().replace(/\.apps$/, '')];
  if (!k) throw usageError(`unsupported target type ${JSON.stringify(kind)}`, `use one of pod, deploy, statefulset, daemonset, replicaset (e.g. deploy/${name ?? 'checkout'}), or -l SELECTOR`);
  return { kind: k, name: objectName(name ?? '', `${k} name`) };
}

export const describeRef = (r: TargetRef) => (r.kind === 'selector' ? `pods with -l ${r.selector}` : `${r.kind}/${r.name}`);

// --- Kubernetes API objects, only the fields read here --------------------------------------------

interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}
interface ContainerSpec {
  name: string;
  image?: string;
  ports?: Array<{ containerPort: number; name?: string; protocol?: string }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface ContainerStatus {
  name: string;
  containerID?: string;
  ready?: boolean;
  restartCount?: number;
  state?: Record<string, { reason?: string; message?: string } | undefined>;
  lastState?: { terminated?: { reason?: string; exitCode?: number; finishedAt?: string } };
}
export interface PodObject {
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: ContainerSpec[] };
  status: { phase?: string; podIP?: string; hostIP?: string; qosClass?: string; containerStatuses?: ContainerStatus[] };
}
interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

// --- Quantities --------------------------------------------------------------------------------------

const SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes resource quantity (`500m`, `2`, `512Mi`, `1e9`) as a number; undefined if unreadable. */
export function parseQuantity(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * SUFFIX[m[2] ?? ''];
}

// --- Pods --------------------------------------------------------------------------------------------

export interface PodInfo {
  name: string;
  namespace: string;
  uid: string;
  node?: string;
  podIP?: string;
  hostIP?: string;
  phase: string;
  ready: boolean;
  container: string;
  containerId?: { runtime: string; id: string };
  qosClass?: string;
  resources: { cpuRequestCores?: number; cpuLimitCores?: number; memoryRequestBytes?: number; memoryLimitBytes?: number };
  restarts: number;
  /** The container's previous end, when it restarted (e.g. reason OOMKilled). */
  lastTermination?: { reason?: string; exitCode?: number; finishedAt?: string };
  /** Why the container is not running, when it is waiting (CrashLoopBackOff, …). */
  waitingReason?: string;
  containerPorts: Array<{ port: number; name?: string }>;
}

/** The container to look at: -c, else kubectl's default-container annotation, else the first. */
export function podInfo(pod: PodObject, container?: string): PodInfo {
  const spec = pod.spec?.containers ?? [];
  const want = container ?? pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? spec[0]?.name;
  const c = spec.find((x) => x.name === want);
  if (!c) {
    throw usageError(`pod ${pod.metadata.name} has no container ${JSON.stringify(want)}`, `its containers: ${spec.map((x) => x.name).join(', ') || 'none'}; choose one with -c`);
  }
  const st = pod.status?.containerStatuses?.find((x) => x.name === c.name);
  const waiting = st?.state?.waiting;
  return {
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? '',
    uid: pod.metadata.uid ?? '',
    node: pod.spec.nodeName,
    podIP: pod.status?.podIP,
    hostIP: pod.status?.hostIP,
    phase: pod.metadata.deletionTimestamp ? 'Terminating' : pod.status?.phase ?? 'Unknown',
    ready: st?.ready === true,
    container: c.name,
    containerId: st?.containerID ? parseContainerId(st.containerID) : undefined,
    qosClass: pod.status?.qosClass,
    resources: {
      cpuRequestCores: parseQuantity(c.resources?.requests?.cpu),
      cpuLimitCores: parseQuantity(c.resources?.limits?.cpu),
      memoryRequestBytes: parseQuantity(c.resources?.requests?.memory),
      memoryLimitBytes: parseQuantity(c.resources?.limits?.memory),
    },
    restarts: st?.restartCount ?? 0,
    lastTermination: st?.lastState?.terminated,
    waitingReason: waiting?.reason,
    containerPorts: (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => ({ port: p.containerPort, name: p.name })),
  };
}

/** A workload's `spec.selector` in kubectl's -l syntax. */
export function selectorString(s: LabelSelectorObject | undefined, what: string): string {
  const terms: string[] = [];
  for (const [k, v] of Object.entries(s?.matchLabels ?? {}).sort()) terms.push(`${k}=${v}`);
  for (const e of s?.matchExpressions ?? []) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') terms.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
  }
  if (!terms.length) throw new SleuthError('input', `${what} has an empty pod selector`, 'target one of its pods directly: pod/NAME');
  return labelSelector(terms.join(','));
}

/** The pods a target stands for, in name order (a bare pod: that one pod). */
export async function listTargetPods(k: Kubectl, ref: TargetRef, namespace: string, signal?: AbortSignal): Promise<PodObject[]> {
  if (ref.kind === 'pod') return [await k.json<PodObject>(['get', 'pod', ref.name], { namespace, signal })];
  let selector: string;
  if (ref.kind === 'selector') selector = ref.selector;
  else {
    const w = await k.json<{ spec?: { selector?: LabelSelectorObject } }>(['get', ref.kind, ref.name], { namespace, signal });
    selector = selectorString(w.spec?.selector, `${ref.kind}/${ref.name}`);
  }
  const list = await k.json<{ items?: PodObject[] }>(['get', 'pods', '--selector', selector], { namespace, signal });
  const pods = (list.items ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  if (!pods.length) throw usageError(`${describeRef(ref)} has no pods in namespace ${namespace} (selector ${selector})`, 'is it scaled to zero, or in another namespace (-n)?');
  return pods;
}

export interface PodChoice {
  pods: PodInfo[];
  /** Why these pods, in a sentence for the report. */
  reason: string;
}

/**
 * Which of a workload's pods to investigate: running ones only; the worst P99 first when Prometheus
 * could tell (`p99ByPod`), otherwise ready before unready, then by name, and say so.
 */
export function choosePods(all: PodInfo[], count: number, ref: TargetRef, p99ByPod?: Map<string, number>): PodChoice {
  const running = all.filter((p) => p.phase === 'Running');
  if (!running.length) {
    const states = all.map((p) => `${p.name}: ${p.phase}${p.waitingReason ? ` (${p.waitingReason})` : ''}`).join(', ');
    throw new SleuthError('unavailable', `${describeRef(ref)}: no running pod to investigate (${states})`, 'wait for a pod to run, or name a running pod with pod/NAME');
  }
  if (all.length === 1 || ref.kind === 'pod') return { pods: running.slice(0, 1), reason: `pod ${running[0].name}` };
  const known = p99ByPod && running.some((p) => p99ByPod.has(p.name));
  const sorted = [...running].sort((a, b) =>
    known ? (p99ByPod!.get(b.name) ?? -1) - (p99ByPod!.get(a.name) ?? -1) || a.name.localeCompare(b.name) : Number(b.ready) - Number(a.ready) || a.name.localeCompare(b.name),
  );
  const pods = sorted.slice(0, Math.max(1, count));
  const of = `${running.length} running pod${running.length === 1 ? '' : 's'} of ${describeRef(ref)}`;
  const reason = known
    ? `${pods.map((p) => `${p.name} (P99 ${fmtMs(p99ByPod!.get(p.name))})`).join(', ')}: worst P99 of ${of}`
    : `${pods.map((p) => p.name).join(', ')}: ${pods.length > 1 ? 'the first' : 'first'} ${pods.every((p) => p.ready) ? 'ready ' : ''}by name of ${of} (no per-pod P99 in Prometheus to choose by; name one with pod/NAME)`;
  return { pods, reason };
}

const fmtMs = (s: number | undefined) => (s === undefined ? 'unknown' : `${Math.round(s * 1000)}ms`);

