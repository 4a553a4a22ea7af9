/**
 * A "cluster" for the kubectl stand-in (test/kube/kubectl-standin.mjs, a TEST DOUBLE): Kubernetes
 * API objects in a JSON state file, modelled on what a real API server returns, plus the mapping
 * from a pod's container port to a real process on this machine (the lab's Go service).
 *
 * `placeInPodCgroup` is real: it moves the process into cgroup v1 directories laid out the way the
 * kubelet's cgroupfs driver lays them out (kubepods/<qos>/pod<UID>/<container ID>), so that finding
 * the container's host process from /proc works exactly as on a node.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, tmpDir } from '../helpers.js';

export const STANDIN = path.join(ROOT, 'test', 'kube', 'kubectl-standin.mjs');

export interface PodSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  node?: string;
  uid?: string;
  containerId?: string;
  container?: string;
  phase?: string;
  ready?: boolean;
  qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
  requests?: Record<string, string>;
  limits?: Record<string, string>;
  restarts?: number;
  lastTermination?: { reason: string; exitCode: number; finishedAt: string };
  /** containerPort → host:port of the real process behind it (what port-forward reaches). */
  forward?: Record<string, string>;
}

export interface Faults {
  forbidden?: string[];
  apiDelayMs?: number;
  nodePodNeverReady?: boolean;
  nodePodImagePull?: boolean;
  portForwardDiesAfterMs?: number;
  execExitCode?: number;
  unreachable?: boolean;
}

export interface Cluster {
  statePath: string;
  logPath: string;
  env: Record<string, string>;
  pods: Array<PodSpec & { uid: string; containerId: string; namespace: string }>;
  /** Every argv the tool gave kubectl, in order. */
  calls(): string[][];
  state(): { objects: { pods: Array<{ metadata: { name: string; namespace: string; labels?: Record<string, string> }; spec: Record<string, unknown>; execPids?: number[] }> }; created?: Array<{ namespace: string; name: string; manifest: Record<string, any> }>; deleted?: Array<{ namespace: string; name: string }> };
  setFaults(f: Faults): void;
}

/** A pod as `kubectl get pod -o json` shows it (the fields p99sleuth reads, and the usual others). */
function podObject(p: PodSpec & { uid: string; containerId: string; namespace: string }) {
  const container = p.container ?? 'app';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      labels: p.labels ?? {},
      annotations: p.annotations,
      creationTimestamp: '2026-11-21T08:00:00Z',
      ownerReferences: p.labels?.app ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${p.labels.app}-7d9f8b6c5`, uid: randomUUID(), controller: true, blockOwnerDeletion: true }] : undefined,
    },
    spec: {
      nodeName: p.node ?? 'node-a',
      containers: [
        {
          name: container,
          image: 'registry.example.com/shop/checkout:1.42.0',
          ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }, { containerPort: 6060, name: 'pprof', protocol: 'TCP' }],
          resources: { requests: p.requests ?? {}, limits: p.limits ?? {} },
        },
      ],
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
    },
    status: {
      phase: p.phase ?? 'Running',
      hostIP: '10.0.0.7',
      podIP: '10.244.1.23',
      qosClass: p.qosClass ?? 'Burstable',
      conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: container,
          containerID: `containerd://${p.containerId}`,
          image: 'registry.example.com/shop/checkout:1.42.0',
          ready: p.ready !== false,
          restartCount: p.restarts ?? 0,
          started: true,
          state: p.phase === 'Pending' ? { waiting: { reason: 'ContainerCreating' } } : { running: { startedAt: '2026-11-21T08:00:05Z' } },
          lastState: p.lastTermination ? { terminated: p.lastTermination } : {},
        },
      ],
    },
  };
}

export async function makeCluster(o: { pods: PodSpec[]; deployments?: Array<{ name: string; namespace?: string; matchLabels: Record<string, string> }>; faults?: Faults; context?: string; namespace?: string }): Promise<Cluster> {
  const dir = await tmpDir('p99sleuth-cluster-');
  const statePath = path.join(dir, 'cluster.json');
  const logPath = path.join(dir, 'kubectl.log');
  const pods = o.pods.map((p) => ({ ...p, namespace: p.namespace ?? 'shop', uid: p.uid ?? randomUUID(), containerId: p.containerId ?? randomBytes(32).toString('hex') }));
  const state = {
    context: o.context ?? 'lab-cluster',
    namespace: o.namespace,
    user: 'jane@example.com',
    faults: o.faults ?? {},
    forward: Object.fromEntries(pods.filter((p) => p.forward).map((p) => [`${p.namespace}/${p.name}`, p.forward])),
    objects: {
      pods: pods.map(podObject),
      deployments: (o.deployments ?? []).map((d) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.name, namespace: d.namespace ?? 'shop', uid: randomUUID(), labels: d.matchLabels },
        spec: { replicas: pods.length, selector: { matchLabels: d.matchLabels }, template: { metadata: { labels: d.matchLabels } } },
        status: { replicas: pods.length, readyReplicas: pods.length },
      })),
    },
  };
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  writeFileSync(logPath, '');
  const read = () => JSON.parse(readFileSync(statePath, 'utf8'));
  return {
    statePath,
    logPath,
    env: { KUBECTL: STANDIN, KUBECTL_STANDIN_STATE: statePath, KUBECTL_STANDIN_LOG: logPath },
    pods,
    calls: () => readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).argv as string[]),
    state: read,
    setFaults(f) {
      const s = read();
      s.faults = f;
      writeFileSync(statePath, JSON.stringify(s, null, 2));
    },
  };
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];

/**
 * A cgroup v1 cpu group for the kubectl stand-in and everything it execs, weighted as one ordinary
 * process (1024). Real kubectl runs off the node; here it shares the CPUs with the service, and a
 * fault that saturates them would otherwise starve the stand-in's niced processes. Returns the env to
 * add and the undo.
 */
export function kubectlCgroup(): { env: Record<string, string>; undo: () => void } {
  const root = '/sys/fs/cgroup/cpu';
  if (!existsSync(`${root}/cgroup.procs`)) throw new Error(`cgroup v1 cpu hierarchy not mounted at ${root}: the Kubernetes lab needs cgroup v1 (see LAB-NOTES)`);
  const dir = path.join(root, `p99sleuth-kubectl-${process.pid}`);
  if (!existsSync(dir)) mkdirSync(dir);
  writeFileSync(path.join(dir, 'cpu.shares'), '1024');
  return { env: { KUBECTL_STANDIN_CGROUP: dir }, undo: () => removeCgroup(dir) };
}

function removeCgroup(d: string): void {
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(d);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      // A child cgroup of a fault, or an exiting process, may still hold it for a moment.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/**
 * Move `pid` into kubepods/<qos>/pod<uid>/<containerId> of each cgroup v1 hierarchy (the kubelet's
 * cgroupfs layout), as a container runtime would have put it. Returns the undo.
 */
export function placeInPodCgroup(pid: number, uid: string, containerId: string, qos = 'burstable'): () => void {
  const made: string[] = [];
  const origin = new Map<string, string>();
  for (const c of V1_CONTROLLERS) {
    const root = `/sys/fs/cgroup/${c}`;
    if (!existsSync(`${root}/cgroup.procs`)) throw new Error(`cgroup v1 ${c} hierarchy not mounted at ${root}: the Kubernetes lab needs cgroup v1 (see LAB-NOTES)`);
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(c));
    origin.set(c, path.join(root, line?.split(':')[2] ?? '/'));
    let dir = root;
    for (const part of ['kubepods', qos, `pod${uid}`, containerId]) {
      dir = path.join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        made.push(dir);
        // A v1 cpu group competes as one task against every busy process of the root cgroup (load
        // generator, Prometheus, p99sleuth itself — on a node those are elsewhere or idle). Weight it
        // like the service's own threads had outside (GOMAXPROCS × 1024), so moving it changes nothing.
        if (c === 'cpu') writeFileSync(path.join(dir, 'cpu.shares'), String(1024 * Math.max(2, os.availableParallelism())));
      }
    }
    appendFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  }
  return () => {
    for (const [c, dir] of origin) {
      try {
        if (existsSync(`/proc/${pid}`)) appendFileSync(path.join(dir, 'cgroup.procs'), String(pid));
      } catch {
        /* the process may be gone */
      }
      void c;
    }
    for (const d of made.reverse()) removeCgroup(d);
  };
}
