#!/usr/bin/env node
// TEST DOUBLE — a stand-in for kubectl, for tests only: there is no Kubernetes cluster on the
// machines p99sleuth is tested on. It implements exactly the kubectl behaviour p99sleuth relies on,
// with kubectl's own output formats and Kubernetes API objects:
//   version --client, config current-context, config view --minify (namespace), get (pod, pods -l,
//   deployment, statefulset, daemonset, replicaset; -o json), auth can-i, create -f - (pods),
//   wait --for=condition=Ready, delete pod, port-forward (real TCP proxying to the lab's real pprof
//   port), exec (runs the command on this machine, as if inside the node pod).
// The "cluster" is a JSON state file (KUBECTL_STANDIN_STATE, see test/kube/cluster.ts); every argv
// is appended to KUBECTL_STANDIN_LOG as a JSON line. Failure modes come from state.faults:
//   forbidden: ["create pods/exec", ...]  RBAC denials (auth can-i says no, the API says Forbidden)
//   apiDelayMs                            every API call is this slow
//   nodePodNeverReady, nodePodImagePull   the node pod does not start (and why)
//   portForwardDiesAfterMs                port-forward loses the pod after this long
//   execExitCode                          every exec exits with this code, as the remote command would
//   unreachable                           the API server cannot be reached
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';

// Real kubectl runs on the engineer's machine, not on the node it inspects; here both share the
// same two CPUs, so the stand-in (and what it execs) yields to the service under test. Under a fault
// that saturates the service's CPUs, nice 19 alone starves it (a weight of 15 against the pod
// cgroup's thousands), which no real kubectl suffers: the lab then gives the stand-in a cpu cgroup of
// its own (KUBECTL_STANDIN_CGROUP, see cluster.ts kubectlCgroup) worth one ordinary process.
if (process.env.KUBECTL_STANDIN_CGROUP) appendFileSync(`${process.env.KUBECTL_STANDIN_CGROUP}/cgroup.procs`, String(process.pid));
try {
  os.setPriority(19);
} catch {}

const STATE = process.env.KUBECTL_STANDIN_STATE;
const LOG = process.env.KUBECTL_STANDIN_LOG;
const argv = process.argv.slice(2);
if (LOG) appendFileSync(LOG, JSON.stringify({ argv, pid: process.pid, t: Date.now() }) + '\n');
if (!STATE) fail('error: KUBECTL_STANDIN_STATE is not set (this is the test stand-in for kubectl)', 1);

// ---- argument parsing (kubectl's flags may come before or after the command) ----
const flags = {};
const words = [];
let command = [];
const VALUE_FLAGS = new Set(['--context', '--kubeconfig', '--namespace', '-n', '--output', '-o', '--selector', '-l', '--container', '-c', '--address', '--subresource', '-f', '--filename', '--for', '--timeout', '--grace-period', '--wait', '--request-timeout']);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') {
    command = argv.slice(i + 1);
    break;
  }
  if (a.startsWith('-') && a.length > 1) {
    const eq = a.indexOf('=');
    if (eq > 0) flags[norm(a.slice(0, eq))] = a.slice(eq + 1);
    else if (VALUE_FLAGS.has(a)) flags[norm(a)] = argv[++i];
    else flags[norm(a)] = true;
  } else words.push(a);
}
function norm(f) {
  return { '-n': '--namespace', '-o': '--output', '-l': '--selector', '-c': '--container', '-f': '--filename', '-A': '--all-namespaces' }[f] ?? f;
}

const state = readState();
const faults = state.faults ?? {};
const ns = flags['--namespace'] ?? state.namespace ?? 'default';
const user = state.user ?? 'jane@example.com';

function readState() {
  return JSON.parse(readFileSync(STATE, 'utf8'));
}
// Writers take a lock directory so that concurrent kubectl processes do not lose each other's changes.
function updateState(fn) {
  const lock = `${STATE}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 500) fail('error: stand-in state lock is stuck', 1);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    const s = readState();
    fn(s);
    writeFileSync(`${STATE}.tmp`, JSON.stringify(s, null, 2));
    renameSync(`${STATE}.tmp`, STATE);
  } finally {
    rmdirSync(lock);
  }
}

function fail(msg, code) {
  process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  process.exit(code);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const RESOURCES = {
  pod: 'pods', pods: 'pods', po: 'pods',
  deploy: 'deployments', deployment: 'deployments', deployments: 'deployments',
  sts: 'statefulsets', statefulset: 'statefulsets', statefulsets: 'statefulsets',
  ds: 'daemonsets', daemonset: 'daemonsets', daemonsets: 'daemonsets',
  rs: 'replicasets', replicaset: 'replicasets', replicasets: 'replicasets',
};
const GROUP = { pods: '', deployments: 'apps', statefulsets: 'apps', daemonsets: 'apps', replicasets: 'apps' };

function forbidden(verb, resource, name) {
  const r = resource.replace(/\/.*/, '');
  const sub = resource.includes('/') ? resource : resource;
  const what = name ? `${r} "${name}" is forbidden` : `${r} is forbidden`;
  fail(`Error from server (Forbidden): ${what}: User "${user}" cannot ${verb} resource "${sub}" in API group "${GROUP[r] ?? ''}" in the namespace "${ns}"`, 1);
}
const denied = (verb, resource) => (faults.forbidden ?? []).includes(`${verb} ${resource}`);

// ---- label selectors (equality, set-based, existence) ----
function matches(labels = {}, selector) {
  const terms = [];
  let depth = 0, cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { terms.push(cur); cur = ''; } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => t.trim()).filter(Boolean).every((t) => {
    let m;
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t))) {
      const set = m[3].split(',').map((v) => v.trim());
      return m[2] === 'in' ? set.includes(labels[m[1]]) : !set.includes(labels[m[1]]);
    }
    if ((m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(t))) return m[2] === '!=' ? labels[m[1]] !== m[3] : labels[m[1]] === m[3];
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

const objects = (kind) => (state.objects?.[kind] ?? []);
const inNs = (o) => (o.metadata.namespace ?? 'default') === ns;
const notFound = (kind, name) => fail(`Error from server (NotFound): ${kind} "${name}" not found`, 1);
const output = () => flags['--output'];
function printJson(v) {
  process.stdout.write(JSON.stringify(v, null, 4) + '\n');
}

async function main() {
  const [verb, ...rest] = words;
  if (verb === 'version') return printJson({ clientVersion: { major: '1', minor: '31', gitVersion: 'v1.31.0-standin', platform: 'linux/amd64' }, kustomizeVersion: 'v5.4.2' });
  if (verb === 'config') {
    if (rest[0] === 'current-context') return state.context ? process.stdout.write(state.context + '\n') : fail('error: current-context is not set', 1);
    if (rest[0] === 'view') return process.stdout.write(state.namespace ?? '');
    fail(`error: unknown command "${rest[0]}" for "kubectl config"`, 1);
  }
  if (faults.unreachable) fail('E1121 10:00:00.000000   12345 memcache.go:265] couldn\'t get current server API group list: Get "https://10.0.0.1:6443/api?timeout=32s": dial tcp 10.0.0.1:6443: connect: connection refused\nThe connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?', 1);
  if (faults.apiDelayMs) await sleep(faults.apiDelayMs);
  switch (verb) {
    case 'get': return get(rest);
    case 'auth': return canI(rest);
    case 'create': return create();
    case 'wait': return wait(rest);
    case 'delete': return del(rest);
    case 'port-forward': return portForward(rest);
    case 'exec': return exec(rest);
    default: fail(`error: unknown command "${verb}" for "kubectl"`, 1);
  }
}

function get(rest) {
  let [type, name] = rest.length === 1 && rest[0].includes('/') ? rest[0].split('/') : rest;
  const kind = RESOURCES[type];
  if (!kind) fail(`error: the server doesn't have a resource type "${type}"`, 1);
  if (output() !== 'json') fail('error: the stand-in only prints -o json', 1);
  if (denied(name ? 'get' : 'list', kind)) forbidden(name ? 'get' : 'list', kind, name);
  const all = flags['--all-namespaces'] ? objects(kind) : objects(kind).filter(inNs);
  if (name) {
    const o = all.find((x) => x.metadata.name === name);
    return o ? printJson(o) : notFound(kind, name);
  }
  const sel = flags['--selector'];
  const items = sel ? all.filter((o) => matches(o.metadata.labels, sel)) : all;
  printJson({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } });
}

function canI(rest) {
  const [, verb, resource] = rest; // auth can-i VERB RESOURCE
  const r = flags['--subresource'] ? `${resource}/${flags['--subresource']}` : resource;
  if (denied(verb, r)) {
    process.stdout.write('no\n');
    process.exit(1);
  }
  process.stdout.write('yes\n');
}

async function readStdin() {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s;
}

async function create() {
  if (flags['--filename'] !== '-') fail('error: the stand-in only creates from stdin (-f -)', 1);
  const obj = JSON.parse(await readStdin());
  const podNs = obj.metadata?.namespace ?? ns;
  if (obj.kind !== 'Pod') fail(`error: the stand-in only creates pods, got ${obj.kind}`, 1);
  if (denied('create', 'pods')) fail(`Error from server (Forbidden): error when creating "STDIN": pods is forbidden: User "${user}" cannot create resource "pods" in API group "" in the namespace "${podNs}"`, 1);
  let exists = false;
  updateState((s) => {
    s.objects.pods ??= [];
    if (s.objects.pods.some((p) => p.metadata.name === obj.metadata.name && (p.metadata.namespace ?? 'default') === podNs)) exists = true;
    else {
      obj.metadata.namespace = podNs;
      obj.metadata.uid = `standin-${Math.random().toString(16).slice(2, 10)}`;
      obj.metadata.creationTimestamp = new Date().toISOString();
      obj.status = { phase: 'Pending', qosClass: 'Burstable' };
      s.objects.pods.push(obj);
      (s.created ??= []).push({ namespace: podNs, name: obj.metadata.name, manifest: obj });
    }
  });
  if (exists) fail(`Error from server (AlreadyExists): error when creating "STDIN": pods "${obj.metadata.name}" already exists`, 1);
  process.stdout.write(`pod/${obj.metadata.name} created\n`);
}

async function wait(rest) {
  const [, name] = rest[0].split('/');
  const timeoutS = Number(String(flags['--timeout'] ?? '30s').replace(/s$/, ''));
  const pod = objects('pods').find((p) => p.metadata.name === name && inNs(p));
  if (!pod) notFound('pods', name);
  // kubectl wait lists and then watches the object.
  if (denied('watch', 'pods')) forbidden('watch', 'pods', name);
  if (faults.nodePodNeverReady || faults.nodePodImagePull) {
    if (faults.nodePodImagePull) {
      updateState((s) => {
        const p = s.objects.pods.find((x) => x.metadata.name === name);
        if (p) p.status.containerStatuses = [{ name: 'agent', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${p.spec.containers[0].image}"` } } }];
      });
    }
    await sleep(Math.min(timeoutS, 2) * 1000);
    fail(`error: timed out waiting for the condition on pods/${name}`, 1);
  }
  updateState((s) => {
    const p = s.objects.pods.find((x) => x.metadata.name === name);
    if (p) p.status = { ...p.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
  });
  process.stdout.write(`pod/${name} condition met\n`);
}

function del(rest) {
  const [type, name] = rest;
  if (RESOURCES[type] !== 'pods') fail('error: the stand-in only deletes pods', 1);
  if (denied('delete', 'pods')) forbidden('delete', 'pods', name);
  let found;
  updateState((s) => {
    found = s.objects.pods.find((p) => p.metadata.name === name && (p.metadata.namespace ?? 'default') === ns);
    s.objects.pods = s.objects.pods.filter((p) => p !== found);
    if (found) (s.deleted ??= []).push({ namespace: ns, name });
  });
  if (!found) {
    if (flags['--ignore-not-found']) return;
    notFound('pods', name);
  }
  // Deleting a pod ends every process that was exec'd in it, as the kubelet would.
  for (const pid of found.execPids ?? []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  process.stdout.write(`pod "${name}" deleted\n`);
}

function portForward(rest) {
  const [target, ports] = rest;
  const name = target.replace(/^pods?\//, '');
  const pod = objects('pods').find((p) => p.metadata.name === name && inNs(p));
  if (!pod) notFound('pods', name);
  if (denied('create', 'pods/portforward')) forbidden('create', 'pods/portforward', name);
  if (pod.status?.phase !== 'Running') fail(`error: unable to forward port because pod is not running. Current status=${pod.status?.phase}`, 1);
  const remote = Number(ports.split(':').pop());
  const dest = state.forward?.[`${ns}/${name}`]?.[String(remote)];
  const server = net.createServer((sock) => {
    process.stdout.write(`Handling connection for ${server.address().port}\n`);
    if (!dest) {
      process.stderr.write(`E1121 10:00:00.000000   12345 portforward.go:413] an error occurred forwarding ${server.address().port} -> ${remote}: error forwarding port ${remote} to pod ${pod.metadata.uid}, uid : failed to execute portforward in network namespace "/var/run/netns/cni-standin": failed to connect to localhost:${remote} inside namespace "${pod.metadata.uid}", IPv4: dial tcp4 127.0.0.1:${remote}: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address\n`);
      sock.destroy();
      return;
    }
    const [host, port] = dest.split(':');
    const up = net.connect(Number(port), host);
    sock.pipe(up).pipe(sock);
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  server.listen(Number(ports.split(':')[0]) || 0, flags['--address'] ?? '127.0.0.1', () => {
    process.stdout.write(`Forwarding from 127.0.0.1:${server.address().port} -> ${remote}\n`);
  });
  if (faults.portForwardDiesAfterMs) {
    setTimeout(() => {
      process.stderr.write(`E1121 10:00:00.000000   12345 portforward.go:404] error copying from local connection to remote stream: read tcp4 127.0.0.1:${server.address().port}->127.0.0.1:50000: read: connection reset by peer\nerror: lost connection to pod\n`);
      process.exit(1);
    }, faults.portForwardDiesAfterMs);
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

function exec(rest) {
  const [name] = rest;
  const pod = objects('pods').find((p) => p.metadata.name === name && inNs(p));
  if (!pod) notFound('pods', name);
  if (denied('create', 'pods/exec')) forbidden('create', 'pods/exec', name);
  if (pod.status?.phase !== 'Running') fail(`error: unable to upgrade connection: container not found ("${flags['--container'] ?? pod.spec.containers[0].name}")`, 1);
  if (!command.length) fail('error: you must specify at least one command for the container', 1);
  if (faults.execExitCode) fail(`command terminated with exit code ${faults.execExitCode}`, faults.execExitCode);
  // "Inside the node pod": hostPID, the host's /proc and cgroup tree — on this machine, that is this machine.
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  updateState((s) => {
    const p = s.objects.pods.find((x) => x.metadata.name === name);
    if (p) (p.execPids ??= []).push(child.pid);
  });
  // Like kubectl: if kubectl itself is stopped, the remote command is not (it ends by itself or with the pod).
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  child.on('error', (err) => fail(`OCI runtime exec failed: exec failed: unable to start container process: exec: "${command[0]}": ${err.code === 'ENOENT' ? 'executable file not found in $PATH' : err.message}: unknown\ncommand terminated with exit code 126`, 126));
  child.on('exit', (code, signal) => {
    updateState((s) => {
      const p = s.objects.pods.find((x) => x.metadata.name === name);
      if (p) p.execPids = (p.execPids ?? []).filter((x) => x !== child.pid);
    });
    const c = code ?? (signal ? 137 : 1);
    if (c !== 0) process.stderr.write(`command terminated with exit code ${c}\n`);
    process.exit(c);
  });
}

main().catch((err) => fail(`error: ${err.message}`, 1));
