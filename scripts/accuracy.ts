/**
 * The accuracy suite: every lab scenario end to end through `p99sleuth investigate --local`, and the
 * user-space and CPU-throttling scenarios once more through the Kubernetes path (`investigate
 * deploy/checkout --kubectl <stand-in>`: the lab service as a pod of a kubectl TEST DOUBLE, in a real
 * kubelet-style cgroup, with pprof over the stand-in's port-forward and kernel evidence over its exec).
 * For each: bring the lab up under open-loop load, take a calm baseline, inject the fault, wait until
 * Prometheus shows the spike, investigate, score, clean up. Healthy runs (one with a noisy neighbour
 * burning a core) must report no cause. Ends with exactly one line:
 *   accuracy: top1 X/Y top3 X/Y false-alarms A/B
 * and exits non-zero on any miss, false alarm or lab error.
 *
 *   node --import tsx scripts/accuracy.ts [scenario...]      (P99SLEUTH_KEEP_BUNDLES=1 keeps every bundle)
 */
import { execa, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acceptQueueOverflow, clientNetns, cpuHog, cpuQuota, diskThrottle, memcgLimit, nsLoad, packetLoss, udpFlood, type ClientNetns } from './lab/faults.js';
import { LabService, load, PORTS, prepare, Prometheus, PROM_URL, sleep, trackProcess } from './lab/lab.js';
import { packagePath } from '../src/util/paths.js';
import { kubectlCgroup, makeCluster, placeInPodCgroup, STANDIN, type Cluster } from '../test/kube/cluster.js';

/** What a kernel scenario set up before the lab started, and how to take it down. */
interface Env {
  labArgs: string[];
  ns?: ClientNetns;
  dir?: string;
  undo: () => Promise<void>;
}

interface Scenario {
  /** Cause id the report must rank first; undefined for healthy runs. */
  expect?: string;
  /** Compound scenarios: this cause must rank in the top 2 as well, and the summary name both. */
  alsoExpect?: string;
  /** A lab fault switched inside the service (user-space causes). */
  fault?: string;
  /** Before the lab starts (client network namespace, journal directory): its labsvc flags. */
  setup?: () => Promise<Env>;
  /** A fault applied to the running service from outside (kernel and hardware causes). */
  inject?: (lab: LabService, env: Env) => Promise<() => Promise<void>>;
  /** Steady load from the client namespace instead of loopback (loss must hit the clients' packets). */
  loadFromNs?: boolean;
  /** The delay is outside the server's timer: do not wait for a server-side spike. */
  serverBlind?: boolean;
  /** Smallest server P99 rise, × the calm P99, that counts as the fault showing (default 2). */
  spikeRatio?: number;
  runtimeMetrics?: boolean;
  noisyNeighbour?: boolean;
  /** Longest wait for the spike to show in Prometheus, seconds. */
  spikeWait?: number;
  /** Investigate through the Kubernetes path (kubectl stand-in) instead of --local. */
  kubernetes?: boolean;
}

const netns = async (): Promise<Env> => {
  const ns = await clientNetns();
  return { labArgs: [`--extra-addr=${ns.hostAddr}:${PORTS.api}`], ns, undo: ns };
};
const journal = (...extra: string[]) => async (): Promise<Env> => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-journal-'));
  return { labArgs: [`--journal=${dir}`, ...extra], dir, undo: () => rm(dir, { recursive: true, force: true }) };
};
/** Four throttled write IOs per request at 50 req/s: each fsync waits (measured in scripts/lab/README.md). */
const slowDisk = (lab: LabService, env: Env) => diskThrottle(lab.pid, env.dir!, 4 * RATE);

const SCENARIOS: Record<string, Scenario> = {
  healthy: {},
  'healthy-noisy-neighbour': { noisyNeighbour: true },
  'gc-pressure': { expect: 'gc-pressure', fault: 'gc-pressure' },
  'lock-contention': { expect: 'lock-contention', fault: 'lock-contention' },
  'channel-blocking': { expect: 'channel-blocking', fault: 'channel-blocking' },
  'cpu-bound': { expect: 'cpu-bound', fault: 'cpu-bound' },
  'goroutine-leak': { expect: 'goroutine-leak', fault: 'goroutine-leak', spikeWait: 70 },
  'go-scheduler-latency': { expect: 'go-scheduler-latency', fault: 'sched-latency' },
  'go-scheduler-latency (runtime metrics)': { expect: 'go-scheduler-latency', fault: 'sched-latency', runtimeMetrics: true },
  'downstream-latency': { expect: 'downstream-latency', fault: 'downstream-slow' },
  'cpu-throttling': { expect: 'cpu-throttling', inject: (lab) => cpuQuota([lab.pid], 0.05) },
  'runqueue-contention': { expect: 'runqueue-contention', inject: (lab) => cpuHog(lab.pid, { hogs: 3, seconds: 150 }) },
  'disk-io-latency': { expect: 'disk-io-latency', setup: journal(), inject: slowDisk },
  'memory-reclaim': {
    expect: 'memory-reclaim',
    setup: journal('--journal-receipt-bytes=262144', '--journal-sync-interval=1s'),
    inject: (lab) => memcgLimit(lab.pid, 16 << 20),
    spikeRatio: 1.5,
  },
  'tcp-retransmits': { expect: 'tcp-retransmits', setup: netns, loadFromNs: true, serverBlind: true, inject: async (_lab, env) => packetLoss(env.ns!, PORTS.api, 0.05) },
  'accept-queue-overflow': {
    expect: 'accept-queue-overflow',
    setup: async () => {
      const env = await netns();
      env.labArgs.push('--listen-backlog=128');
      return env;
    },
    inject: (_lab, env) => acceptQueueOverflow({ ns: env.ns!, url: `http://${env.ns!.hostAddr}:${PORTS.api}/api/checkout`, burst: 300, seconds: 70 }),
  },
  'softirq-saturation': { expect: 'softirq-saturation', setup: netns, inject: async (_lab, env) => udpFlood(env.ns!, `${env.ns!.hostAddr}:9`, 250_000, 70), spikeRatio: 1.5 },
  'compound: gc-pressure + disk-io-latency': {
    expect: 'gc-pressure',
    alsoExpect: 'disk-io-latency',
    setup: journal(),
    fault: 'gc-pressure',
    inject: slowDisk,
  },
};

// The same faults seen through Kubernetes: user-space causes and CPU throttling at least (issue 5).
for (const name of ['healthy', 'gc-pressure', 'lock-contention', 'channel-blocking', 'cpu-bound', 'goroutine-leak', 'go-scheduler-latency', 'cpu-throttling']) {
  SCENARIOS[`${name} (kubernetes)`] = { ...SCENARIOS[name], kubernetes: true };
}

/** The lab service as a pod: its name matches the namespace/pod labels of the lab's Prometheus (lab/prometheus.sh). */
const LAB_POD = { name: 'checkout-7d9f8b6c5-lab00', uid: '0c5a8e7e-3f4b-4d2a-9b1c-7e6f5d4c3b2a', containerId: 'a3f1c9e2b7d64e0f8a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778' };

async function labCluster(lab: LabService): Promise<{ cluster: Cluster; undo: () => void }> {
  const cluster = await makeCluster({
    pods: [{ ...LAB_POD, labels: { app: 'checkout' }, forward: { '6060': `127.0.0.1:${PORTS.api}` }, requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } }],
    deployments: [{ name: 'checkout', matchLabels: { app: 'checkout' } }],
  });
  const undoPod = placeInPodCgroup(lab.pid, LAB_POD.uid, LAB_POD.containerId);
  const kubectl = kubectlCgroup();
  Object.assign(cluster.env, kubectl.env);
  return {
    cluster,
    undo: () => {
      undoPod();
      kubectl.undo();
    },
  };
}

const RATE = 50;
const CALM_S = 30;
const SELECTOR = '{job="checkout"}';
const P99 = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${SELECTOR}[10s])))`;

type Outcome = 'pass' | 'fail' | 'lab-error';
interface Row {
  name: string;
  expect: string;
  top: string;
  outcome: Outcome;
  seconds: number;
  causes: number;
}

async function p99Now(): Promise<number | undefined> {
  const res = await fetch(`${PROM_URL}/api/v1/query?query=${encodeURIComponent(P99)}`).then((r) => r.json() as Promise<{ data?: { result?: Array<{ value: [number, string] }> } }>);
  const v = Number(res.data?.result?.[0]?.value[1]);
  return Number.isFinite(v) ? v : undefined;
}

/** A noisy neighbour: another process on the machine burning one core for a bounded time. */
function neighbour(seconds: number): ResultPromise {
  const proc = execa(process.execPath, ['-e', `const end = Date.now() + ${seconds * 1000}; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);`], { reject: false, stdio: 'ignore', forceKillAfterDelay: 1000 });
  trackProcess(proc);
  return proc;
}

/** Share of this VM's CPU time the hypervisor took (steal) since `before`, from /proc/stat. */
function stealSince(before: number[]): number {
  const now = cpuTimes();
  const d = now.map((v, i) => v - (before[i] ?? 0));
  const total = d.slice(0, 8).reduce((a, b) => a + b, 0);
  return total > 0 ? (d[7] ?? 0) / total : 0;
}
/** The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal. */
function cpuTimes(): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu ')) ?? '';
  return line.trim().split(/\s+/).slice(1, 9).map(Number);
}
/** Above this much steal the run measured the host's neighbours, not the fault (the machine is shared). */
const MAX_STEAL = 0.1;

async function runOnce(name: string, s: Scenario): Promise<{ outcome: Outcome; top: string; causes: number; detail: string }> {
  const cpuAtStart = cpuTimes();
  const res = await runScenario(name, s);
  // A miss while the hypervisor took a tenth of the CPU is no verdict on p99sleuth: run it again.
  const steal = stealSince(cpuAtStart);
  if (res.outcome !== 'pass' && steal > MAX_STEAL && s.expect !== 'cpu-steal') {
    return { ...res, outcome: 'lab-error', detail: `the hypervisor stole ${(steal * 100).toFixed(0)}% of the CPU during the run (${res.detail})` };
  }
  return res;
}

async function runScenario(name: string, s: Scenario): Promise<{ outcome: Outcome; top: string; causes: number; detail: string }> {
  const env = s.setup ? await s.setup() : undefined;
  let lab: LabService | undefined;
  let undoFault: (() => Promise<void>) | undefined;
  const out = await mkdtemp(path.join(os.tmpdir(), 'p99sleuth-accuracy-'));
  let keep: string | undefined;
  let traffic: { done: Promise<unknown>; stop: () => void } | undefined;
  let hog: ResultPromise | undefined;
  let pod: { cluster: Cluster; undo: () => void } | undefined;
  try {
    lab = await LabService.start({ runtimeMetrics: s.runtimeMetrics, extraArgs: env?.labArgs });
    // Into its pod's cgroup before any fault: a CPU quota then applies beneath it, as on a node.
    if (s.kubernetes) pod = await labCluster(lab);
    const labStart = Date.now();
    const seconds = CALM_S + (s.spikeWait ?? 40) + 40;
    traffic = s.loadFromNs ? nsLoad(env!.ns!, `http://${env!.ns!.hostAddr}:${PORTS.api}/api/checkout`, RATE, seconds) : load(RATE, seconds);
    hog = s.noisyNeighbour ? neighbour(CALM_S + 60) : undefined;
    await sleep(CALM_S * 1000);
    const calm = (await p99Now()) ?? 0;
    if (s.fault || s.inject) {
      if (s.fault) await lab.fault(s.fault, true);
      if (s.inject) undoFault = await s.inject(lab, env!);
      await sleep(8000);
      if (!s.serverBlind) {
        // Wait until Prometheus shows the spike: a fault without a visible spike is a lab problem.
        const deadline = Date.now() + (s.spikeWait ?? 40) * 1000;
        let seen = false;
        const ratio = s.spikeRatio ?? 2;
        while (Date.now() < deadline) {
          const p = await p99Now();
          if (p !== undefined && p >= Math.max(ratio * calm, calm + 0.005)) {
            seen = true;
            break;
          }
          await sleep(2000);
        }
        if (!seen) return { outcome: 'lab-error', top: '-', causes: 0, detail: `no spike visible in Prometheus (calm P99 ${(calm * 1000).toFixed(1)} ms)` };
      } else await sleep(7000);
    } else {
      await sleep(10_000);
    }
    const bundle = path.join(out, 'bundle');
    const since = `${Math.max(60, Math.ceil((Date.now() - labStart) / 1000) + 5)}s`;
    const target = pod ? ['deploy/checkout', '-n', 'shop', '--kubectl', STANDIN] : ['--local', '--pid', String(lab.pid)];
    const inv = execa(process.execPath, [packagePath('bin', 'p99sleuth.js'), 'investigate', ...target, '--prometheus', PROM_URL, '--since', since, '--duration', '10s', '--format', 'json', '--out', bundle], { reject: false, timeout: 150_000, env: pod?.cluster.env });
    trackProcess(inv);
    const r = await inv;
    if (r.exitCode !== 0) {
      // The progress log and whatever the bundle holds (partial or not) are what a post-mortem needs.
      keep = bundle;
      await writeFile(path.join(out, 'investigate.stderr'), String(r.stderr)).catch(() => undefined);
      // Every kubectl call, with its time: which one was slow.
      if (pod) await copyFile(pod.cluster.logPath, path.join(out, 'kubectl.log')).catch(() => undefined);
      const how = r.timedOut ? `timed out after 150 s` : `exited ${r.exitCode ?? r.signal}`;
      return { outcome: 'fail', top: '-', causes: 0, detail: `investigate ${how}: ${String(r.stderr).trim().split('\n').slice(-2).join(' ')}; progress log and bundle kept: ${out}` };
    }
    const report = JSON.parse(String(r.stdout)) as { summary: string; causes: Array<{ id: string; score: number }> };
    const top = report.causes.slice(0, 3).map((c) => `${c.id}=${c.score.toFixed(2)}`).join(' ') || '(none)';
    let ok: boolean;
    let why = '';
    if (s.alsoExpect) {
      // Two causes at once: both in the top 2 (either order), and the summary names both.
      const two = report.causes.slice(0, 2).map((c) => c.id);
      ok = two.includes(s.expect!) && two.includes(s.alsoExpect) && report.summary.includes(s.expect!) && report.summary.includes(s.alsoExpect);
      if (!ok) why = `expected ${s.expect} and ${s.alsoExpect} in the top 2 and the summary ("${report.summary}")`;
    } else {
      ok = s.expect ? report.causes[0]?.id === s.expect : report.causes.length === 0;
      if (!ok) why = `expected ${s.expect ?? 'no cause'}`;
    }
    if (pod) {
      // The Kubernetes path really ran: the pod's host process was found, and nothing was left behind.
      const m = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')) as { target: { kind: string; pid?: number } };
      const left = pod.cluster.state().objects.pods.filter((p) => p.metadata.name.startsWith('p99sleuth-node-'));
      if (m.target.kind !== 'kubernetes' || m.target.pid !== lab.pid || left.length) {
        ok = false;
        why = `Kubernetes path: target ${m.target.kind} pid ${m.target.pid} (lab ${lab.pid}), node pods left: ${left.length}`;
      }
    }
    // For a post-mortem: `p99sleuth analyze <bundle>` (P99SLEUTH_KEEP_BUNDLES=1 keeps every one).
    if (!ok || process.env.P99SLEUTH_KEEP_BUNDLES) keep = bundle;
    return { outcome: ok ? 'pass' : 'fail', top, causes: report.causes.length, detail: ok ? (keep ? `bundle kept: ${bundle}` : '') : `${why}; bundle kept: ${bundle}` };
  } finally {
    await undoFault?.();
    hog?.kill();
    traffic?.stop();
    await traffic?.done.catch(() => undefined);
    await hog?.catch(() => undefined);
    await lab?.stop();
    pod?.undo();
    await env?.undo();
    if (!keep) await rm(out, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  for (const n of names) if (!(n in SCENARIOS)) throw new Error(`unknown scenario "${n}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  await prepare();
  const prom = await Prometheus.start();
  const rows: Row[] = [];
  const flaky: string[] = [];
  try {
    for (const name of names.length ? names : Object.keys(SCENARIOS)) {
      const s = SCENARIOS[name];
      const t0 = Date.now();
      let res = await runOnce(name, s);
      // A lab that could not show the fault (or a host that was stealing the CPU) gets two more tries.
      for (let retry = 1; res.outcome === 'lab-error' && retry <= 2; retry++) {
        process.stderr.write(`accuracy: ${name}: ${res.detail}; retrying (${retry}/2)\n`);
        res = await runOnce(name, s);
      }
      // This machine is shared and noisy: one miss gets one more run, and the row and the summary say
      // so. Two misses in a row fail the suite.
      if (res.outcome === 'fail') {
        const first = `first run: top3 ${res.top}${res.detail ? `, ${res.detail}` : ''}`;
        process.stderr.write(`accuracy: ${name}: missed (${first}); one more run\n`);
        const again = await runOnce(name, s);
        if (again.outcome === 'pass') {
          flaky.push(name);
          res = { ...again, detail: `passed on a second run; ${first}${again.detail ? `; ${again.detail}` : ''}` };
        } else res = { ...again, detail: `${again.detail}; ${first}` };
      }
      const row: Row = { name, expect: s.expect ?? '(none)', top: res.top, outcome: res.outcome, seconds: (Date.now() - t0) / 1000, causes: res.causes };
      rows.push(row);
      process.stdout.write(`${row.name.padEnd(40)} expect ${row.expect.padEnd(22)} top3 ${row.top.padEnd(60)} ${row.outcome.padEnd(9)} ${row.seconds.toFixed(0)}s${res.detail ? `  (${res.detail})` : ''}\n`);
    }
  } finally {
    await prom.stop();
  }
  const faults = rows.filter((r) => r.expect !== '(none)');
  const healthy = rows.filter((r) => r.expect === '(none)');
  const top1 = faults.filter((r) => r.outcome === 'pass').length;
  const top3 = faults.filter((r) => r.outcome !== 'lab-error' && r.top.split(' ').slice(0, 3).some((t) => t.startsWith(`${r.expect}=`))).length;
  const falseAlarms = healthy.filter((r) => r.causes > 0).length;
  const passed = rows.filter((r) => r.outcome === 'pass').length;
  process.stdout.write(`scenarios: ${passed} passed, ${rows.length - passed} failed\n`);
  process.stdout.write(`accuracy: top1 ${top1}/${faults.length} top3 ${top3}/${faults.length} false-alarms ${falseAlarms}/${healthy.length}\n`);
  if (flaky.length) process.stdout.write(`passed only on a second run: ${flaky.length} (${flaky.join(', ')})\n`);
  return rows.every((r) => r.outcome === 'pass') ? 0 : 1;
}

process.exitCode = await main();
