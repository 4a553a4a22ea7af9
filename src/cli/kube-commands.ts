/**
 * `p99sleuth doctor [TARGET]` — can p99sleuth work against this cluster, and if not, exactly what to
 * fix — and `p99sleuth cleanup`, which deletes node pods left behind by an investigation that was
 * killed outright (the pods also end by themselves: activeDeadlineSeconds).
 */
import { kubeOptions, prometheusAuthOptions, withOptions } from './options.js';
import type { Command } from '@commander-js/extra-typings';
import os from 'node:os';
import { SleuthError, describe } from '../errors.js';
import { promApi } from '../sources/prometheus/capture.js';
import { selectorForPod } from '../sources/prometheus/discover.js';
import type { Kubectl } from '../target/kubernetes/kubectl.js';
import { imageRef, portNumber } from '../target/kubernetes/names.js';
import { NodeShell } from '../target/kubernetes/node-shell.js';
import { DEFAULT_AGENT_IMAGE, leftovers, listNodePods, startNodePod } from '../target/kubernetes/nodepod.js';
import { startPortForward } from '../target/kubernetes/portforward.js';
import { choosePods, listTargetPods, parseTargetRef, podInfo, type PodInfo } from '../target/kubernetes/resolve.js';
import { makeLogger } from '../ui/log.js';
import { httpRequest } from '../util/http.js';
import { isPprofIndex } from '../target/local.js';
import { EXIT } from './exit.js';
import { withInterrupts } from './interrupts.js';
import { urlPath } from './validate.js';
import { kubeFlags, type KubeFlags } from './kube-flags.js';
import { promTarget, type PrometheusFlags } from './prometheus-flags.js';

interface Global {
  quiet: boolean;
  debug: boolean;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

/** The permissions an investigation uses (README "Kubernetes permissions" has the Role). */
export const PERMISSIONS: Array<{ verb: string; resource: string; subresource?: string; why: string; nodePod?: boolean }> = [
  { verb: 'get', resource: 'pods', why: 'read the target pod' },
  { verb: 'list', resource: 'pods', why: 'find a workload\'s pods' },
  { verb: 'create', resource: 'pods', subresource: 'portforward', why: 'reach pprof (kubectl port-forward)' },
  { verb: 'create', resource: 'pods', why: 'start the node pod', nodePod: true },
  { verb: 'watch', resource: 'pods', why: 'wait until the node pod runs (kubectl wait)', nodePod: true },
  { verb: 'delete', resource: 'pods', why: 'remove the node pod', nodePod: true },
  { verb: 'create', resource: 'pods', subresource: 'exec', why: 'run bpftrace and read /proc in the node pod', nodePod: true },
];

interface DoctorFlags extends KubeFlags, PrometheusFlags {
  labelSelector?: string;
  pprofPort: string;
  pprofPath: string;
  nodePod: boolean;
  agentImage: string;
  agentNamespace?: string;
  format: 'text' | 'json';
}

export async function doctor(target: string[], f: DoctorFlags, log: ReturnType<typeof makeLogger>, signal?: AbortSignal): Promise<DoctorCheck[]> {
  const k = kubeFlags(f);
  const kubectl = k.kubectl;
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => {
    checks.push(c);
    log.info(`${c.status.padEnd(4)} ${c.name}: ${c.detail}`);
  };
  const ref = target.length || f.labelSelector ? parseTargetRef(target, f.labelSelector) : undefined;
  const pprofPort = portNumber(f.pprofPort, '--pprof-port');
  const pprofPath = urlPath(f.pprofPath, '--pprof-path');
  const image = imageRef(f.agentImage);
  const prom = promTarget(f);

  // 1. kubectl and the context.
  try {
    const v = await kubectl.json<{ clientVersion?: { gitVersion?: string } }>(['version', '--client'], { timeoutMs: 15_000 });
    add({ name: 'kubectl', status: 'ok', detail: `${kubectl.o.kubectl} ${v.clientVersion?.gitVersion ?? '(version unknown)'}` });
  } catch (err) {
    add({ name: 'kubectl', status: 'fail', detail: describe(err), fix: (err as SleuthError).hint ?? 'install kubectl or pass --kubectl PATH' });
    return checks;
  }
  try {
    const ctx = (await kubectl.run(['config', 'current-context'], { timeoutMs: 15_000 })).stdout.trim();
    add({ name: 'context', status: 'ok', detail: ctx });
  } catch (err) {
    add({ name: 'context', status: 'fail', detail: describe(err), fix: 'choose a context: --context NAME (kubectl config get-contexts)' });
    return checks;
  }
  const namespace = await k.namespace();

  // 2. RBAC, as the API server answers for this user (also proves it is reachable).
  for (const p of PERMISSIONS) {
    const what = `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}`;
    const ns = p.nodePod ? f.agentNamespace ?? namespace : namespace;
    try {
      const r = await kubectl.run(['auth', 'can-i', p.verb, p.resource, ...(p.subresource ? ['--subresource', p.subresource] : [])], { namespace: ns, timeoutMs: 20_000, okExitCodes: [1] });
      const yes = r.stdout.trim() === 'yes';
      const optional = p.nodePod && !f.nodePod;
      add({
        name: `can ${what}`,
        status: yes ? 'ok' : optional ? 'skip' : p.nodePod ? 'warn' : 'fail',
        detail: `${yes ? 'yes' : 'no'} in namespace ${ns} (${p.why})`,
        fix: yes ? undefined : `grant "${what}" in ${ns} (README "Kubernetes permissions")${p.nodePod ? ', or run with --no-node-pod for pprof and Prometheus evidence only' : ''}`,
      });
    } catch (err) {
      add({ name: `can ${what}`, status: 'fail', detail: describe(err), fix: (err as SleuthError).hint });
      return checks;
    }
  }

  // 3. The target, its pprof endpoint, Prometheus, the node pod.
  let pod: PodInfo | undefined;
  if (ref) {
    try {
      const pods = (await listTargetPods(kubectl, ref, namespace)).map((p) => podInfo(p, k.container));
      const choice = choosePods(pods, 1, ref);
      pod = choice.pods[0];
      add({ name: 'target', status: 'ok', detail: choice.reason });
    } catch (err) {
      add({ name: 'target', status: 'fail', detail: describe(err), fix: (err as SleuthError).hint });
    }
  } else add({ name: 'target', status: 'skip', detail: 'no target given: pass one (e.g. deploy/checkout) to check its pprof endpoint and node' });

  if (pod) {
    let fwd;
    try {
      fwd = await startPortForward(kubectl, pod.namespace, pod.name, pprofPort, { signal });
      const url = `http://127.0.0.1:${fwd.localPort}${pprofPath}/`;
      const res = await httpRequest(url, { timeoutMs: 10_000, maxBytes: 1 << 20, signal });
      const ok = isPprofIndex(res.status, res.body);
      add({ name: 'pprof', status: ok ? 'ok' : 'fail', detail: ok ? `net/http/pprof answers on ${pod.name}:${pprofPort}${f.pprofPath}` : `${pod.name}:${pprofPort}${f.pprofPath}/ answered HTTP ${res.status}, not the pprof index`, fix: ok ? undefined : 'import _ "net/http/pprof" in the service, or pass --pprof-port/--pprof-path' });
    } catch (err) {
      add({ name: 'pprof', status: 'fail', detail: describe(err), fix: `does the container listen on ${pprofPort}? pass --pprof-port` });
    } finally {
      await fwd?.stop();
    }
  }

  if (prom) {
    try {
      await promApi(prom, 'query', { query: 'vector(1)' });
      const sel = pod ? await selectorForPod(prom, pod.namespace, pod.name) : undefined;
      add({ name: 'prometheus', status: !pod || sel ? 'ok' : 'warn', detail: pod ? (sel ? `series ${sel}` : `reachable, but no series with namespace/pod labels for ${pod.name}`) : 'reachable', fix: pod && !sel ? 'pass --selector with the PromQL matchers of the service' : undefined });
    } catch (err) {
      add({ name: 'prometheus', status: 'fail', detail: describe(err), fix: (err as SleuthError).hint });
    }
  } else add({ name: 'prometheus', status: 'skip', detail: 'no --prometheus: spike finding and runtime series unavailable' });

  if (pod?.node && f.nodePod) {
    let nodePod;
    try {
      nodePod = await startNodePod(kubectl, { namespace: f.agentNamespace ?? namespace, node: pod.node, image, lifetimeSeconds: 120 }, { signal, onCreated: (p) => (nodePod = p) });
      add({ name: 'node pod', status: 'ok', detail: `${nodePod.namespace}/${nodePod.name} ran on ${pod.node} (${image})` });
      const shell = new NodeShell(kubectl, nodePod);
      // Through the node shell: a kubectl refusal is an error of its own, not "bpftrace missing".
      const v = (await shell.script('bpftrace --version 2>&1 || echo "exit $?"', [], signal)).trim();
      const ok = /^bpftrace v?\d/.test(v);
      add(ok
        ? { name: 'bpftrace', status: 'ok', detail: v }
        : { name: 'bpftrace', status: 'fail', detail: `not runnable in ${image}: ${v.split('\n').pop() || 'no output'}`, fix: 'pass --agent-image with an image that has bpftrace' });
      const reader = shell.reader();
      const btf = (await shell.script('test -r /sys/kernel/btf/vmlinux && echo yes', [], signal)).trim() === 'yes';
      add({ name: 'kernel BTF', status: btf ? 'ok' : 'warn', detail: btf ? '/sys/kernel/btf/vmlinux present' : 'no /sys/kernel/btf/vmlinux on the node', fix: btf ? undefined : 'bpftrace works without BTF for p99sleuth\'s tracepoint scripts, but stacks and struct access are poorer; a kernel built with CONFIG_DEBUG_INFO_BTF=y fixes it' });
      const tracefs = (await reader.list('/sys/kernel/debug/tracing')).length > 0 || (await reader.list('/sys/kernel/tracing')).length > 0;
      add({ name: 'tracefs', status: tracefs ? 'ok' : 'warn', detail: tracefs ? 'mounted' : 'not visible in the node pod', fix: tracefs ? undefined : 'mount tracefs on the node (mount -t tracefs nodev /sys/kernel/tracing)' });
    } catch (err) {
      add({ name: 'node pod', status: 'fail', detail: describe(err), fix: (err as SleuthError).hint });
    } finally {
      await nodePod?.delete();
    }
  } else if (pod) add({ name: 'node pod', status: 'skip', detail: f.nodePod ? 'the pod has no node' : '--no-node-pod' });
  return checks;
}

export function renderDoctor(checks: DoctorCheck[]): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: '--  ' };
  const lines = checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(w)}  ${c.detail}${c.fix ? `\n${' '.repeat(w + 8)}fix: ${c.fix}` : ''}`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push('', failed ? `${failed} check${failed > 1 ? 's' : ''} failed: p99sleuth cannot investigate until they are fixed.` : warned ? `ready, with ${warned} warning${warned > 1 ? 's' : ''} (less evidence).` : 'ready.');
  return lines.join('\n') + '\n';
}

export function registerKubeCommands(program: Command, global: () => Global): void {
  const doctorCmd = program
    .command('doctor')
    .description('check that p99sleuth can investigate on this cluster (kubectl, RBAC, pprof, Prometheus, node pod, bpftrace, BTF) and say how to fix what is missing')
    .argument('[target...]', 'a workload to check end to end: deploy/NAME, pod/NAME, …')
    .option('-l, --label-selector <selector>', 'pods by label instead of a target')
    .option('-c, --container <name>', 'container in the pod')
    .option('--pprof-port <port>', 'the container port serving net/http/pprof', '6060')
    .option('--pprof-path <path>', 'the pprof path on that port', '/debug/pprof')
    .option('--no-node-pod', 'do not try the node pod')
    .option('--agent-image <image>', 'image of the node pod', DEFAULT_AGENT_IMAGE)
    .option('--agent-namespace <namespace>', 'namespace for the node pod')
    .option('--prometheus <url>', 'Prometheus to check')
    .option('--format <format>', 'text or json', 'text')
    .addHelpText('after', '\nExit status: 0 when nothing failed (warnings allowed), 4 when a check failed.\n\nExamples:\n  p99sleuth doctor\n  p99sleuth doctor deploy/checkout -n shop --prometheus http://prometheus.monitoring:9090');
  withOptions(doctorCmd, [...kubeOptions(), ...prometheusAuthOptions()]).action(async (target, o) => {
    const f = o as DoctorFlags;
    if (f.format !== 'text' && f.format !== 'json') throw new SleuthError('usage', `--format ${JSON.stringify(f.format)}: choose text or json`);
    const checks = await withInterrupts((signal) => doctor(target, f, makeLogger({ quiet: true }), signal), () => 'stopping; deleting the node pod if one was started');
    process.stdout.write(f.format === 'json' ? JSON.stringify({ schema: 'p99sleuth/doctor@1', checks }, null, 2) + '\n' : renderDoctor(checks));
    if (checks.some((c) => c.status === 'fail')) process.exitCode = EXIT.unavailable;
  });

  const cleanupCmd = program
    .command('cleanup')
    .description('delete node pods left by investigations that were killed (label app.kubernetes.io/managed-by=p99sleuth): those whose p99sleuth on this machine is gone, past their deadline, or ended')
    .option('-A, --all-namespaces', 'look in every namespace (default: -n or the context\'s namespace)', false)
    .option('--all', 'also delete node pods of investigations still running (here or elsewhere)', false)
    .option('--dry-run', 'list them, delete nothing', false)
    .addHelpText('after', '\nExamples:\n  p99sleuth cleanup -n shop\n  p99sleuth cleanup --all-namespaces --dry-run');
  withOptions(cleanupCmd, kubeOptions()).action(async (o) => {
    const f = o as typeof o & KubeFlags & { all: boolean };
    const log = makeLogger(global());
    const k = kubeFlags(f);
    const ns = f.allNamespaces ? undefined : await k.namespace();
    const pods = await listNodePods(k.kubectl, ns);
    if (!pods.length) log.info(`no p99sleuth node pods ${ns ? `in namespace ${ns}` : 'in any namespace'}`);
    const { remove, keep } = leftovers(pods, { host: os.hostname(), alive: pidAlive, now: Date.now(), all: f.all });
    for (const p of remove) {
      if (!f.dryRun) await deleteOrThrow(k.kubectl, p.namespace, p.name);
      process.stdout.write(`${f.dryRun ? 'would delete' : 'deleted'} pod ${p.namespace}/${p.name}${p.node ? ` (node ${p.node}, ${p.phase ?? 'unknown'})` : ''}\n`);
    }
    for (const { pod, why } of keep) process.stdout.write(`kept pod ${pod.namespace}/${pod.name}: ${why} (--all deletes it)\n`);
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function deleteOrThrow(k: Kubectl, namespace: string, name: string): Promise<void> {
  await k.run(['delete', 'pod', name, '--ignore-not-found', '--wait=false', '--grace-period=1'], { namespace, timeoutMs: 30_000 });
}

