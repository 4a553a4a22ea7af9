/**
 * The node pod: a short-lived privileged hostPID pod on the target's node, in which the bpftrace
 * scripts and the procfs/cgroup reads run through `kubectl exec`. It is the only object p99sleuth
 * ever creates. It is labelled as ours, pinned to the node, tolerates every taint, sleeps no longer
 * than the capture needs (activeDeadlineSeconds is the backstop if we are killed), and is deleted on
 * every way out — `p99sleuth cleanup` finds leftovers by label.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { SleuthError, describe } from '../../errors.js';
import { kubectlError, type Kubectl } from './kubectl.js';
import { imageRef, namespaceName, objectName } from './names.js';
import { onEmergencyExit } from '../../util/cleanup.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'p99sleuth';
export const AGENT_LABEL = `${MANAGED_BY}=${MANAGED_BY_VALUE}`;
export const AGENT_CONTAINER = 'agent';
export const OWNER = 'p99sleuth.dev/owner';
export const EXPIRES = 'p99sleuth.dev/expires';
/**
 * Needs bpftrace, a POSIX sh and grep (nsenter optional). Overridable with --agent-image;
 * `p99sleuth doctor` checks what the chosen image has.
 */
export const DEFAULT_AGENT_IMAGE = 'quay.io/iovisor/bpftrace:latest';

export interface NodePodSpec {
  namespace: string;
  node: string;
  image: string;
  /** How long the pod may live at most (the capture plus margins). */
  lifetimeSeconds: number;
}

/** The pod object, exactly what is sent to the API server (README "Kubernetes permissions" shows it). */
export function nodePodManifest(s: NodePodSpec, name = `p99sleuth-node-${randomBytes(4).toString('hex')}`): Record<string, unknown> {
  namespaceName(s.namespace);
  objectName(s.node, 'node name');
  imageRef(s.image);
  const life = Math.max(60, Math.ceil(s.lifetimeSeconds));
  const hostPath = (n: string, p: string) => ({ name: n, hostPath: { path: p } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: s.namespace,
      labels: { [MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/name': 'p99sleuth-node' },
      annotations: {
        'p99sleuth.dev/purpose': 'read-only kernel tracing for one p99sleuth investigation; deleted when it ends',
        // Who runs it and until when: `p99sleuth cleanup` removes only pods whose investigation is gone.
        [OWNER]: `${os.hostname()}/${process.pid}`,
        [EXPIRES]: new Date(Date.now() + life * 1000).toISOString(),
      },
    },
    spec: {
      nodeName: s.node,
      hostPID: true,
      restartPolicy: 'Never',
      // The backstop: even if p99sleuth is SIGKILLed, the kubelet stops the pod after this.
      activeDeadlineSeconds: life,
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: AGENT_CONTAINER,
          image: s.image,
          command: ['sleep', String(life)],
          securityContext: { privileged: true },
          // Ten bpftrace processes (LLVM and BTF loaded in each) share this container for the window.
          resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '2Gi' } },
          volumeMounts: [
            // The host's cgroup tree (not the container's namespaced view) and the tracing filesystems.
            { name: 'cgroup', mountPath: '/sys/fs/cgroup', readOnly: true },
            { name: 'debugfs', mountPath: '/sys/kernel/debug' },
            { name: 'modules', mountPath: '/lib/modules', readOnly: true },
            { name: 'usr-src', mountPath: '/usr/src', readOnly: true },
          ],
        },
      ],
      volumes: [hostPath('cgroup', '/sys/fs/cgroup'), hostPath('debugfs', '/sys/kernel/debug'), hostPath('modules', '/lib/modules'), hostPath('usr-src', '/usr/src')],
    },
  };
}

export interface NodePod {
  name: string;
  namespace: string;
  node: string;
  delete(): Promise<void>;
}

/**
 * Create the node pod and wait until it runs. On any failure here the pod is deleted before the
 * error is thrown; the caller deletes it on every later path (NodePod.delete is idempotent).
 */
export async function startNodePod(k: Kubectl, s: NodePodSpec, o: { signal?: AbortSignal; startTimeoutMs?: number; onCreated?: (pod: NodePod) => void } = {}): Promise<NodePod> {
  const manifest = nodePodManifest(s);
  const name = (manifest.metadata as { name: string }).name;
  let deleted: Promise<void> | undefined;
  // A second Ctrl-C exits at once: the pod is then deleted synchronously on the way out.
  const deleteArgs = ['delete', 'pod', name, '--ignore-not-found', '--wait=false', '--grace-period=1'];
  const unregister = onEmergencyExit(() => void spawnSync(k.o.kubectl, k.argv(deleteArgs, s.namespace), { stdio: 'ignore', timeout: 10_000 }));
  const pod: NodePod = {
    name,
    namespace: s.namespace,
    node: s.node,
    // Never with the abort signal: deleting is exactly what must still happen after Ctrl-C.
    delete: () => (deleted ??= deleteNodePod(k, s.namespace, name).finally(unregister)),
  };
  // Created even if the API call is interrupted halfway: the caller must delete it from here on.
  o.onCreated?.(pod);
  await k.run(['create', '-f', '-'], { input: JSON.stringify(manifest), signal: o.signal, timeoutMs: 30_000 }).catch(async (err) => {
    await pod.delete();
    throw err;
  });
  try {
    const timeout = Math.round((o.startTimeoutMs ?? 120_000) / 1000);
    const r = await k.run(['wait', '--for=condition=Ready', `pod/${name}`, `--timeout=${timeout}s`], { namespace: s.namespace, signal: o.signal, timeoutMs: (timeout + 15) * 1000, okExitCodes: [1] });
    // kubectl's own refusal (no watch permission, API gone) is not the pod failing to start.
    if (r.exitCode !== 0 && !/timed out waiting/.test(r.stderr)) throw kubectlError('kubectl wait', r.stderr, r.exitCode);
    if (r.exitCode !== 0) throw await notStarted(k, s, name, r.stderr);
    return pod;
  } catch (err) {
    await pod.delete();
    throw err;
  }
}

async function notStarted(k: Kubectl, s: NodePodSpec, name: string, waitStderr: string): Promise<SleuthError> {
  // Say why: the pod's phase and the container's waiting reason (ImagePullBackOff, …) when readable.
  const detail = await k
    .json<{ status?: { phase?: string; reason?: string; message?: string; containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string } } }> } }>(['get', 'pod', name], { namespace: s.namespace, timeoutMs: 15_000 })
    .then((p) => {
      const w = p.status?.containerStatuses?.[0]?.state?.waiting;
      return [p.status?.phase, p.status?.reason, w?.reason, w?.message ?? p.status?.message].filter(Boolean).join(': ');
    })
    .catch(() => waitStderr.trim().split('\n').pop() ?? '');
  const image = /Image|ErrImage/i.test(detail);
  return new SleuthError(
    'unavailable',
    `the node pod ${s.namespace}/${name} on ${s.node} did not start${detail ? ` (${detail})` : ''}`,
    image ? `the node cannot pull ${s.image}: pass --agent-image with an image it can pull (it needs bpftrace, sh and grep)` : 'is privileged hostPID allowed in this namespace (Pod Security admission)? pass --agent-namespace, or --no-node-pod for pprof and Prometheus evidence only',
  );
}

export async function deleteNodePod(k: Kubectl, namespace: string, name: string): Promise<void> {
  await k
    .run(['delete', 'pod', name, '--ignore-not-found', '--wait=false', '--grace-period=1'], { namespace, timeoutMs: 30_000 })
    .then(() => undefined)
    .catch((err) => {
      process.stderr.write(`p99sleuth: warning: could not delete the node pod ${namespace}/${name}: ${describe(err)}; run \`p99sleuth cleanup -n ${namespace}\` (it also ends by itself: activeDeadlineSeconds)\n`);
    });
}

export interface Leftover {
  namespace: string;
  name: string;
  node?: string;
  phase?: string;
  /** `host/pid` of the p99sleuth that created it. */
  owner?: string;
  expires?: string;
}

/**
 * Which node pods are left over: those whose p99sleuth process on this host is gone, those past
 * their deadline, and those no longer running. A pod of an investigation still under way (here or
 * on another machine, before its deadline) is kept unless `all`.
 */
export function leftovers(pods: Leftover[], o: { host: string; alive: (pid: number) => boolean; now: number; all?: boolean }): { remove: Leftover[]; keep: Array<{ pod: Leftover; why: string }> } {
  const remove: Leftover[] = [];
  const keep: Array<{ pod: Leftover; why: string }> = [];
  for (const p of pods) {
    const [host, pidText] = (p.owner ?? '').split('/');
    const pid = Number(pidText);
    const expired = p.expires !== undefined && Date.parse(p.expires) <= o.now;
    const ended = p.phase !== undefined && p.phase !== 'Running' && p.phase !== 'Pending';
    const orphan = host === o.host && Number.isInteger(pid) && pid > 0 && !o.alive(pid);
    if (o.all || expired || ended || orphan || !p.owner) remove.push(p);
    else keep.push({ pod: p, why: host === o.host ? `its investigation (pid ${pid}) is still running` : `its investigation runs on ${host} until ${p.expires ?? 'its deadline'}` });
  }
  return { remove, keep };
}

/** Node pods still present, in one namespace or all. */
export async function listNodePods(k: Kubectl, namespace?: string, signal?: AbortSignal): Promise<Leftover[]> {
  const list = await k.json<{ items?: Array<{ metadata: { name: string; namespace: string; annotations?: Record<string, string> }; spec?: { nodeName?: string }; status?: { phase?: string } }> }>(
    ['get', 'pods', '--selector', AGENT_LABEL, ...(namespace ? [] : ['--all-namespaces'])],
    { namespace, signal },
  );
  return (list.items ?? []).map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, node: p.spec?.nodeName, phase: p.status?.phase, owner: p.metadata.annotations?.[OWNER], expires: p.metadata.annotations?.[EXPIRES] }));
}
