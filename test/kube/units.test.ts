/**
 * The pure parts of the Kubernetes path: name validation, target parsing, workload selectors,
 * quantities, pod facts, pod choice, the node pod's manifest, and reading the node's /proc through
 * `grep -H` output. Cgroup lines are in the formats each runtime and cgroup driver writes (as
 * documented by the kubelet, containerd, CRI-O and Docker), one per combination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePod } from '../../src/capture/kubernetes.js';
import { SleuthError } from '../../src/errors.js';
import { imageRef, labelSelector, namespaceName, objectName, parseContainerId, portNumber } from '../../src/target/kubernetes/names.js';
import { cgroupNamesContainer, mainProcess, NodeShell, splitGrepH } from '../../src/target/kubernetes/node-shell.js';
import { Kubectl, type KubectlResult, type RunOptions } from '../../src/target/kubernetes/kubectl.js';
import { leftovers, nodePodManifest } from '../../src/target/kubernetes/nodepod.js';
import { choosePods, parseQuantity, parseTargetRef, podInfo, selectorString, type PodInfo, type PodObject } from '../../src/target/kubernetes/resolve.js';

const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && re.test(e.message));

test('names: the API\'s own rules; nothing that kubectl could read as an option', () => {
  assert.equal(objectName('checkout-7d9f8b6c5-x2x4q', 'pod'), 'checkout-7d9f8b6c5-x2x4q');
  assert.equal(objectName('web.v2', 'pod'), 'web.v2');
  for (const bad of ['-n', '--all-namespaces', 'Checkout', 'a_b', '', 'a/b', 'x'.repeat(254)]) usage(() => objectName(bad, 'pod'), /not a valid Kubernetes name/);
  usage(() => namespaceName('kube.system'), /not a valid Kubernetes namespace/);
  assert.equal(labelSelector('app=checkout, tier in (web,api),!legacy'), 'app=checkout,tier in (web,api),!legacy');
  assert.equal(labelSelector('app.kubernetes.io/name!=x'), 'app.kubernetes.io/name!=x');
  for (const bad of ['app=checkout;rm -rf', '--selector=x', 'a=b,,', 'a in b']) usage(() => labelSelector(bad), /label selector/);
  assert.equal(portNumber('6060', '--pprof-port'), 6060);
  usage(() => portNumber('70000', '--pprof-port'), /not a port number/);
  usage(() => imageRef('--privileged'), /not an image reference/);
  assert.equal(imageRef('quay.io/iovisor/bpftrace:v0.21.2'), 'quay.io/iovisor/bpftrace:v0.21.2');
  assert.deepEqual(parseContainerId('containerd://3b1e6a0f9c2d'), { runtime: 'containerd', id: '3b1e6a0f9c2d' });
  assert.deepEqual(parseContainerId('cri-o://0123456789abcdef'), { runtime: 'cri-o', id: '0123456789abcdef' });
  assert.equal(parseContainerId('containerd://../../etc'), undefined);
});

test('targets: TYPE/NAME, TYPE NAME, a bare pod name, -l; aliases as kubectl has them', () => {
  assert.deepEqual(parseTargetRef(['deploy/checkout']), { kind: 'deployment', name: 'checkout' });
  assert.deepEqual(parseTargetRef(['deployments.apps/checkout']), { kind: 'deployment', name: 'checkout' });
  assert.deepEqual(parseTargetRef(['sts', 'ledger']), { kind: 'statefulset', name: 'ledger' });
  assert.deepEqual(parseTargetRef(['ds/node-agent']), { kind: 'daemonset', name: 'node-agent' });
  assert.deepEqual(parseTargetRef(['checkout-7d9f8b6c5-x2x4q']), { kind: 'pod', name: 'checkout-7d9f8b6c5-x2x4q' });
  assert.deepEqual(parseTargetRef([], 'app=checkout'), { kind: 'selector', selector: 'app=checkout' });
  usage(() => parseTargetRef(['cronjob/nightly']), /unsupported target type "cronjob"/);
  usage(() => parseTargetRef(['deploy/a/b']), /cannot read the target/);
  usage(() => parseTargetRef(['deploy/x'], 'app=x'), /not both/);
  usage(() => parseTargetRef([]), /nothing to investigate/);
});

test('a workload\'s spec.selector becomes the -l kubectl would take', () => {
  assert.equal(selectorString({ matchLabels: { tier: 'web', app: 'checkout' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'canary'] }, { key: 'legacy', operator: 'DoesNotExist' }] }, 'deployment/checkout'), 'app=checkout,tier=web,env in (prod,canary),!legacy');
  assert.throws(() => selectorString({}, 'deployment/x'), /empty pod selector/);
});

test('quantities: cores and bytes as the API writes them', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity('256Mi'), 256 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('lots'), undefined);
});

function pod(name: string, o: { phase?: string; ready?: boolean; container?: string; annotations?: Record<string, string>; restarts?: number; oom?: boolean } = {}): PodObject {
  const c = o.container ?? 'app';
  return {
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, annotations: o.annotations },
    spec: { nodeName: 'node-a', containers: [{ name: 'istio-proxy' }, { name: c, ports: [{ containerPort: 6060, name: 'pprof' }, { containerPort: 53, protocol: 'UDP' }], resources: { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '512Mi' } } }] },
    status: {
      phase: o.phase ?? 'Running',
      qosClass: 'Burstable',
      containerStatuses: [{ name: c, containerID: 'containerd://abcdef0123456789', ready: o.ready !== false, restartCount: o.restarts ?? 0, lastState: o.oom ? { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-11-21T07:59:00Z' } } : {} }],
    },
  };
}

test('pod facts: the container by -c, else kubectl\'s default-container annotation, else the first; OOM kills and limits', () => {
  const p = podInfo(pod('a', { annotations: { 'kubectl.kubernetes.io/default-container': 'app' }, restarts: 3, oom: true }));
  assert.equal(p.container, 'app');
  assert.deepEqual(p.containerId, { runtime: 'containerd', id: 'abcdef0123456789' });
  assert.deepEqual(p.resources, { cpuRequestCores: 0.25, cpuLimitCores: 1, memoryRequestBytes: undefined, memoryLimitBytes: 512 * 2 ** 20 });
  assert.deepEqual(p.containerPorts, [{ port: 6060, name: 'pprof' }], 'TCP ports only');
  assert.equal(p.lastTermination?.reason, 'OOMKilled');
  assert.equal(podInfo(pod('a')).container, 'istio-proxy', 'without the annotation: the first container');
  usage(() => podInfo(pod('a'), 'nope'), /has no container "nope"/);
  assert.equal(describePod(p), 'pod shop/a (container app on node node-a; QoS Burstable; limits cpu 1, memory 512Mi; 3 restarts, last OOMKilled at 2026-11-21T07:59:00Z)');
});

test('choosing pods: worst P99 first when Prometheus can tell, else ready ones by name; never a pod that is not running', () => {
  const infos: PodInfo[] = [pod('c'), pod('a', { ready: false }), pod('b'), pod('d', { phase: 'Pending' })].map((x) => podInfo(x, 'app'));
  const ref = { kind: 'deployment' as const, name: 'checkout' };
  const byName = choosePods(infos, 1, ref);
  assert.deepEqual(byName.pods.map((p) => p.name), ['b']);
  assert.match(byName.reason, /first ready by name of 3 running pods of deployment\/checkout \(no per-pod P99/);
  const byP99 = choosePods(infos, 2, ref, new Map([['a', 0.4], ['c', 0.9], ['d', 5]]));
  assert.deepEqual(byP99.pods.map((p) => p.name), ['c', 'a']);
  assert.match(byP99.reason, /c \(P99 900ms\), a \(P99 400ms\): worst P99 of 3 running pods/);
  assert.throws(() => choosePods([podInfo(pod('x', { phase: 'Pending' }), 'app')], 1, ref), /no running pod to investigate \(x: Pending\)/);
});

test('the node pod: privileged hostPID on one node, labelled, tolerating taints, ending by itself, no token', () => {
  const m = nodePodManifest({ namespace: 'shop', node: 'node-a', image: 'quay.io/iovisor/bpftrace:latest', lifetimeSeconds: 315 }, 'p99sleuth-node-0000abcd') as any;
  assert.equal(m.metadata.labels['app.kubernetes.io/managed-by'], 'p99sleuth');
  assert.equal(m.spec.nodeName, 'node-a');
  assert.equal(m.spec.hostPID, true);
  assert.equal(m.spec.activeDeadlineSeconds, 315);
  assert.deepEqual(m.spec.tolerations, [{ operator: 'Exists' }]);
  assert.equal(m.spec.automountServiceAccountToken, false);
  assert.equal(m.spec.restartPolicy, 'Never');
  const c = m.spec.containers[0];
  assert.equal(c.securityContext.privileged, true);
  assert.deepEqual(c.command, ['sleep', '315']);
  assert.ok(c.volumeMounts.find((v: any) => v.mountPath === '/sys/fs/cgroup').readOnly);
  usage(() => nodePodManifest({ namespace: 'shop', node: '--all', image: 'x', lifetimeSeconds: 60 }), /node name/);
  assert.match(m.metadata.annotations['p99sleuth.dev/owner'], new RegExp(`/${process.pid}$`));
  assert.ok(Date.parse(m.metadata.annotations['p99sleuth.dev/expires']) > Date.now() + 300_000);
});

test('cleanup\'s choice: pods of a gone p99sleuth here, expired or ended pods go; running investigations stay (unless --all)', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  const future = '2026-11-21T12:05:00Z';
  const pods = [
    { namespace: 'shop', name: 'gone-here', owner: 'laptop/41', expires: future, phase: 'Running' },
    { namespace: 'shop', name: 'alive-here', owner: 'laptop/42', expires: future, phase: 'Running' },
    { namespace: 'shop', name: 'elsewhere', owner: 'ci-runner/7', expires: future, phase: 'Running' },
    { namespace: 'shop', name: 'expired', owner: 'ci-runner/7', expires: '2026-11-21T11:59:00Z', phase: 'Running' },
    { namespace: 'shop', name: 'ended', owner: 'ci-runner/7', expires: future, phase: 'Failed' },
    { namespace: 'shop', name: 'unowned', phase: 'Running' },
  ];
  const r = leftovers(pods, { host: 'laptop', alive: (pid) => pid === 42, now });
  assert.deepEqual(r.remove.map((p) => p.name), ['gone-here', 'expired', 'ended', 'unowned']);
  assert.deepEqual(r.keep.map((k) => `${k.pod.name}: ${k.why}`), ['alive-here: its investigation (pid 42) is still running', `elsewhere: its investigation runs on ci-runner until ${future}`]);
  assert.equal(leftovers(pods, { host: 'laptop', alive: () => true, now, all: true }).remove.length, 6);
});

test('reading the node: grep -H output back into files; an empty or unreadable file is absent', () => {
  const out = '/proc/42/status:Name:\tcheckout\n/proc/42/status:NSpid:\t4242\t1\n/proc/stat:cpu  1 2 3\n/proc/42/stat:42 (checkout) S\n';
  const m = splitGrepH(out);
  assert.equal(m.get('/proc/42/status'), 'Name:\tcheckout\nNSpid:\t4242\t1\n');
  assert.equal(m.get('/proc/42/stat'), '42 (checkout) S\n', '/proc/42/stat is not confused with /proc/42/status');
  assert.equal(m.get('/proc/1/cgroup'), undefined);
});

test('the container\'s main process is PID 1 of its PID namespace; its cgroup names the pod UID and the container', () => {
  assert.equal(mainProcess(new Map([[900, 'NSpid:\t900\t7\n'], [880, 'NSpid:\t880\t1\n'], [950, undefined]])), 880);
  assert.equal(mainProcess(new Map([[910, 'Name: x\n'], [905, 'Name: y\n']])), 905, 'no NSpid (old kernels): the lowest');
  assert.equal(mainProcess(new Map([[1, undefined]])), undefined);
  const uid = '5f0c7a52-8a5e-4c1b-9d0e-2b7f3f1e9a10';
  const cid = '3b1e6a0f9c2d4e8b7a6f5e4d3c2b1a09f8e7d6c5b4a392817161514131211100';
  const lines = {
    'containerd, cgroupfs, v1': `4:cpu,cpuacct:/kubepods/burstable/pod${uid}/${cid}\n`,
    'containerd, systemd, v2': `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope\n`,
    'CRI-O, systemd, v2': `0::/kubepods.slice/kubepods-pod${uid.replace(/-/g, '_')}.slice/crio-${cid}.scope\n`,
    'Docker, cgroupfs, v1': `11:memory:/kubepods/besteffort/pod${uid}/${cid}\n`,
  };
  for (const [what, text] of Object.entries(lines)) assert.ok(cgroupNamesContainer(text, uid, cid), what);
  assert.ok(!cgroupNamesContainer(`0::/kubepods.slice/other-pod.slice/cri-containerd-${cid}.scope\n`, uid, cid), 'the container ID without the pod UID is not enough');
  assert.ok(!cgroupNamesContainer(`0::/system.slice/sshd.service\n`, uid, cid));
});

/** Answers `kubectl exec … sh -c SCRIPT sh PATHS…` as grep -H would, and records what was asked. */
class RecordingKubectl extends Kubectl {
  asked: string[][] = [];
  constructor(private answer: (paths: string[]) => KubectlResult) {
    super({ kubectl: 'kubectl-test-double' });
  }
  override async run(args: string[], _ro?: RunOptions): Promise<KubectlResult> {
    const paths = args.slice(args.indexOf('-c') + 3);
    this.asked.push(paths);
    return this.answer(paths);
  }
}
const shellOf = (k: Kubectl) => new NodeShell(k, { name: 'p99sleuth-node-0000abcd', namespace: 'shop', node: 'node-a', delete: async () => undefined });

test('node reads: batched into one exec; v1 paths with commas pass; paths with ".." or ":" never reach the node', async () => {
  const k = new RecordingKubectl((paths) => ({ stdout: paths.map((p) => `${p}:line of ${p}`).join('\n') + '\n', stderr: '', exitCode: 0 }));
  const reader = shellOf(k).reader();
  const cpu = '/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1/abc/cpu.stat';
  const [a, b, c, d] = await Promise.all([reader.read(cpu), reader.read('/proc/stat'), reader.read('/proc/1/../../etc/shadow'), reader.read('/proc/1:2/status')]);
  assert.equal(a, `line of ${cpu}\n`);
  assert.equal(b, 'line of /proc/stat\n');
  assert.equal(c, undefined);
  assert.equal(d, undefined);
  assert.deepEqual(k.asked, [[cpu, '/proc/stat']], 'one exec for the batch, unsafe paths left out');
});

test('a kubectl failure in front of remote bpftrace is kubectl\'s, not "run as root"; a remote exit is bpftrace\'s', () => {
  const cmd = shellOf(new Kubectl({ kubectl: 'kubectl' })).bpftraceCommand();
  const forbidden = cmd.transportError!({ stdout: '', stderr: 'Error from server (Forbidden): pods "p99sleuth-node-0000abcd" is forbidden: User "jane" cannot create resource "pods/exec"', exitCode: 1, timedOut: false, canceled: false });
  assert.match(forbidden!.message, /forbidden/);
  assert.match(forbidden!.hint!, /p99sleuth doctor/);
  const missing = cmd.transportError!({ stdout: '', stderr: '', timedOut: false, canceled: false, spawnErrorCode: 'ENOENT' });
  assert.match(missing!.message, /kubectl is not installed/);
  assert.equal(cmd.transportError!({ stdout: '', stderr: 'ERROR: Permission denied\ncommand terminated with exit code 1', exitCode: 1, timedOut: false, canceled: false }), undefined);
  assert.deepEqual(cmd.prefixArgs, ['--namespace', 'shop', 'exec', 'p99sleuth-node-0000abcd', '--container', 'agent', '--', 'nice', '-n', '19', 'bpftrace']);
});
