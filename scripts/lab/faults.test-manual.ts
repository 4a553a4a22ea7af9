/**
 * Manual check of scripts/lab/faults.ts against the real lab service (root, lab machine only):
 *
 *   bash scripts/lab/build.sh
 *   node --import tsx scripts/lab/faults.test-manual.ts [scenario...] [--seconds=20] [--rate=50]
 *
 * Scenarios: cpu-throttling runqueue-contention disk-io-latency memory-reclaim tcp-retransmits
 * accept-queue-overflow softirq-saturation (default: all). Each one starts its own labsvc pair on
 * ports 16200-16213 (never the lab's default ports), measures a baseline and then the same load
 * under the fault, and prints server P99 (from /metrics histogram deltas), client P99 (loadgen)
 * and the kernel counters that moved, as JSON lines on stdout. Everything started is stopped and
 * every fault reverted, also on Ctrl-C.
 */
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LAB_DIR } from './lab.js';
import * as F from './faults.js';

const BIN = path.join(LAB_DIR, 'bin');
const P = { api: 16200, control: 16201, downstream: 16202, downstreamControl: 16203, extra: 16210, udpSink: 16299 };
const argv = process.argv.slice(2);
const opt = (k: string, d: number) => Number(argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const SECONDS = opt('seconds', 20);
const RATE = opt('rate', 50);
const say = (m: string) => process.stderr.write(`manual: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- lab service on private ports -------------------------------------------------------------

interface Lab {
  pid: number;
  downstreamPid: number;
  stop: () => Promise<void>;
}

async function startLab(extra: string[] = []): Promise<Lab> {
  const spawn = (args: string[]) => {
    const p = execa(path.join(BIN, 'labsvc'), args, { stdio: ['ignore', 'ignore', 'pipe'], buffer: false, reject: false, forceKillAfterDelay: 3000 });
    p.stderr?.resume();
    return p;
  };
  const down = spawn(['--role=downstream', `--downstream-addr=127.0.0.1:${P.downstream}`, `--control-addr=127.0.0.1:${P.downstreamControl}`]);
  const api = spawn(['--role=api', `--addr=127.0.0.1:${P.api}`, `--control-addr=127.0.0.1:${P.control}`, `--downstream-addr=127.0.0.1:${P.downstream}`, ...extra]);
  const procs: ResultPromise[] = [api, down];
  const stopSync = () => procs.forEach((p) => p.exitCode === null && p.kill('SIGKILL'));
  const stop = F.registerUndo('labsvc', {
    sync: stopSync,
    async: async () => {
      procs.forEach((p) => p.kill('SIGTERM'));
      await Promise.all(procs);
    },
  }, {});
  for (const url of [`http://127.0.0.1:${P.api}/metrics`, `http://127.0.0.1:${P.downstreamControl}/fault`]) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) break;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${url} not up`);
      }
      await sleep(200);
    }
  }
  say(`labsvc api pid ${api.pid}, downstream pid ${down.pid} ${extra.join(' ')}`);
  return { pid: api.pid!, downstreamPid: down.pid!, stop };
}

// --- server-side P99 from /metrics deltas -----------------------------------------------------

type Buckets = Map<number, number>;
async function scrape(): Promise<Buckets> {
  const text = await (await fetch(`http://127.0.0.1:${P.api}/metrics`)).text();
  const b: Buckets = new Map();
  for (const m of text.matchAll(/^http_request_duration_seconds_bucket\{[^}]*handler="\/api\/checkout"[^}]*le="([^"]+)"\} (\S+)$/gm)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    b.set(le, (b.get(le) ?? 0) + Number(m[2]));
  }
  return b;
}
/** histogram_quantile over the delta, with Prometheus' linear interpolation. */
function quantile(q: number, before: Buckets, after: Buckets): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = cum[cum.length - 1];
  if (!total) return NaN;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i] >= rank) {
      if (les[i] === Infinity) return les[i - 1] * 1000;
      const lo = i ? les[i - 1] : 0;
      const below = i ? cum[i - 1] : 0;
      return (lo + ((les[i] - lo) * (rank - below)) / (cum[i] - below)) * 1000;
    }
  }
  return NaN;
}

// --- loads ------------------------------------------------------------------------------------

async function loopLoad(seconds = SECONDS): Promise<F.LoadSummary> {
  const r = await execa(path.join(BIN, 'loadgen'), [`--url=http://127.0.0.1:${P.api}/api/checkout`, `--rate=${RATE}`, `--duration=${seconds}s`, '--arrivals=poisson'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: (seconds + 40) * 1000,
  });
  return JSON.parse(String(r.stdout).trim().split('\n').pop()!) as F.LoadSummary;
}

interface Phase {
  serverP99Ms: number;
  serverP50Ms: number;
  clientP50Ms: number;
  clientP99Ms: number;
  ok: number;
  errors: number;
  [k: string]: unknown;
}

/** Runs one load phase and reports server/client percentiles plus counter deltas. */
async function phase(loadFn: () => Promise<F.LoadSummary>, counters: () => Record<string, number>): Promise<Phase> {
  const c0 = counters();
  const b0 = await scrape();
  const r = await loadFn();
  const b1 = await scrape();
  const c1 = counters();
  const delta: Record<string, number> = {};
  for (const k of Object.keys(c1)) delta[k] = Math.round((c1[k] - (c0[k] ?? 0)) * 1000) / 1000;
  return {
    serverP50Ms: round(quantile(0.5, b0, b1)),
    serverP99Ms: round(quantile(0.99, b0, b1)),
    clientP50Ms: r.p50Ms,
    clientP99Ms: r.p99Ms,
    ok: r.ok,
    errors: r.errors,
    ...delta,
  };
}
const round = (x: number) => Math.round(x * 100) / 100;

function report(scenario: string, baseline: Phase, fault: Phase, extra: Record<string, unknown> = {}) {
  const line = { scenario, baseline, fault, serverRatio: round(fault.serverP99Ms / baseline.serverP99Ms), clientRatio: round(fault.clientP99Ms / baseline.clientP99Ms), ...extra };
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** bpftrace for `seconds`, text output (maps printed at exit). */
function bpftrace(prog: string, seconds: number): Promise<string> {
  return execa('bpftrace', ['-e', `${prog} interval:s:${seconds} { exit(); }`], { reject: false, timeout: (seconds + 20) * 1000 }).then((r) => String(r.stdout));
}

const psi = (res: 'cpu' | 'io' | 'memory') => () => {
  const p = F.pressure(res);
  return { [`psi_${res}_some_ms`]: p.some / 1000, [`psi_${res}_full_ms`]: p.full / 1000 };
};

// --- scenarios --------------------------------------------------------------------------------

const scenarios: Record<string, () => Promise<void>> = {
  async 'cpu-throttling'() {
    const cores = opt('cores', 0.05);
    const lab = await startLab();
    try {
      const base = await phase(loopLoad, () => ({ ...psi('cpu')() }));
      const undo = await F.cpuQuota([lab.pid], cores);
      const fault = await phase(loopLoad, () => {
        const s = undo.cpuStat();
        return { nr_periods: s.nr_periods, nr_throttled: s.nr_throttled, throttled_ms: s.throttled_time / 1e6, ...psi('cpu')() };
      });
      await undo();
      await undo(); // idempotent
      report('cpu-throttling', base, fault, { cores, cgroupGone: !fs.existsSync(undo.cgroup) });
    } finally {
      await lab.stop();
    }
  },

  async 'runqueue-contention'() {
    const hogs = opt('hogs', 3);
    const shares = opt('shares', 10240);
    const lab = await startLab();
    const rq = () => {
      let wait = 0;
      let runs = 0;
      for (const t of fs.readdirSync(`/proc/${lab.pid}/task`)) {
        try {
          const f = fs.readFileSync(`/proc/${lab.pid}/task/${t}/schedstat`, 'utf8').split(' ').map(Number);
          wait += f[1];
          runs += f[2];
        } catch {
          /* exited */
        }
      }
      return { rq_wait_ms: wait / 1e6, timeslices: runs, ...psi('cpu')() };
    };
    try {
      const base = await phase(loopLoad, rq);
      const undo = await F.cpuHog(lab.pid, { hogs, shares, seconds: SECONDS + 30 });
      await sleep(500);
      const fault = await phase(loopLoad, rq);
      await undo();
      const aff = String((await execa('taskset', ['-p', String(lab.pid)])).stdout);
      const avg = (p: Phase) => round(((p.rq_wait_ms as number) / (p.timeslices as number)) * 1000);
      report('runqueue-contention', base, fault, { hogs, shares, avgWaitPerSliceUs: { baseline: avg(base), fault: avg(fault) }, affinityAfterUndo: aff, hogGone: !F.appliedFaults().includes('cpu-hog'), neighbourGone: !fs.existsSync(undo.cgroup) });
    } finally {
      await lab.stop();
    }
  },

  async 'disk-io-latency'() {
    const iops = opt('iops', 200);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p99sleuth-journal-'));
    const lab = await startLab([`--journal=${dir}`]);
    const fsync = () => bpftrace(`tracepoint:syscalls:sys_enter_fsync /pid == ${lab.pid}/ { @s[tid] = nsecs; } tracepoint:syscalls:sys_exit_fsync /@s[tid]/ { $d = (nsecs - @s[tid]) / 1000; @fsync_us = hist($d); @fsync_stats_us = stats($d); @fsync_max_us = max($d); delete(@s[tid]); } tracepoint:block:block_rq_issue /args->dev == ${devNum(F.blockDeviceOf(dir))}/ { @iss[args->sector] = nsecs; } tracepoint:block:block_rq_complete /@iss[args->sector]/ { @block_stats_us = stats((nsecs - @iss[args->sector]) / 1000); delete(@iss[args->sector]); }`, SECONDS);
    try {
      const bt0 = fsync();
      const base = await phase(loopLoad, psi('io'));
      const baseTrace = await bt0;
      const undo = await F.diskThrottle(lab.pid, dir, iops);
      const bt1 = fsync();
      const fault = await phase(loopLoad, () => ({ ...psi('io')(), ...undo.blkioStat() }));
      const faultTrace = await bt1;
      await undo();
      report('disk-io-latency', base, fault, { iops, device: undo.device, baseTrace: pick(baseTrace), faultTrace: pick(faultTrace) });
    } finally {
      await lab.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  async 'memory-reclaim'() {
    const mb = opt('limit-mb', 16);
    const receipt = opt('receipt-kb', 256) * 1024;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'p99sleuth-journal-'));
    const syncMs = opt('sync-ms', 1000);
    const lab = await startLab([`--journal=${dir}`, `--journal-receipt-bytes=${receipt}`, `--journal-sync-interval=${syncMs}ms`]);
    const reclaim = () => bpftrace(`tracepoint:vmscan:mm_vmscan_memcg_reclaim_begin /pid == ${lab.pid}/ { @r[tid] = nsecs; } tracepoint:vmscan:mm_vmscan_memcg_reclaim_end /@r[tid]/ { $d = (nsecs - @r[tid]) / 1000; @reclaim_stats_us = stats($d); @reclaim_max_us = max($d); delete(@r[tid]); }`, SECONDS);
    try {
      const bt0 = reclaim();
      const base = await phase(loopLoad, psi('memory'));
      const baseTrace = await bt0;
      const undo = await F.memcgLimit(lab.pid, mb << 20);
      const bt1 = reclaim();
      const fault = await phase(loopLoad, () => {
        const s = undo.memcgStat();
        return { failcnt: s.failcnt, usage_mb: s.usage / 2 ** 20, cache_mb: s.stat.cache / 2 ** 20, rss_mb: s.stat.rss / 2 ** 20, pgpgout: s.stat.pgpgout, ...psi('memory')() };
      });
      const faultTrace = await bt1;
      const alive = fs.existsSync(`/proc/${lab.pid}`);
      await undo();
      report('memory-reclaim', base, fault, { limitMB: mb, receiptKB: receipt / 1024, syncMs, serviceAlive: alive, baseTrace: pick(baseTrace), faultTrace: pick(faultTrace) });
    } finally {
      await lab.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },

  async 'tcp-retransmits'() {
    const prob = opt('loss', 0.05);
    const ns = await F.clientNetns();
    try {
      const lab = await startLab([`--extra-addr=${ns.hostAddr}:${P.extra}`]);
      const url = `http://${ns.hostAddr}:${P.extra}/api/checkout`;
      const load = () => nsLoad(ns, url);
      const tcp = () => pickCounters(F.netCounters(), ['Tcp.RetransSegs', 'TcpExt.TCPLossProbes', 'TcpExt.TCPTimeouts', 'TcpExt.TCPLostRetransmit']);
      try {
        const base = await phase(load, tcp);
        const undo = await F.packetLoss(ns, P.extra, prob);
        const fault = await phase(load, tcp);
        await undo();
        const rules = String((await execa('ip', ['netns', 'exec', ns.name, 'iptables', '-S', 'INPUT'])).stdout);
        report('tcp-retransmits', base, fault, { loss: prob, rulesAfterUndo: rules });
      } finally {
        await lab.stop();
      }
    } finally {
      await ns();
    }
  },

  async 'accept-queue-overflow'() {
    const backlog = opt('backlog', 128);
    const burst = opt('burst', 300);
    const everyS = opt('every', 1);
    const cores = opt('cores', 0);
    const ns = await F.clientNetns();
    try {
      const lab = await startLab([`--extra-addr=${ns.hostAddr}:${P.extra}`, ...(backlog ? [`--listen-backlog=${backlog}`] : [])]);
      const url = `http://${ns.hostAddr}:${P.extra}/api/checkout`;
      const tcp = () => pickCounters(F.netCounters(), ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops', 'Tcp.RetransSegs', 'TcpExt.TCPReqQFullDrop', 'TcpExt.SyncookiesSent']);
      try {
        // The measured clients: RATE requests/s from the namespace, each on a new connection
        // (baseline and fault alike); in the fault phase reconnect bursts hit the same listener.
        const base = await phase(() => nsLoad(ns, url, { keepAlive: false }), tcp);
        let storm: Promise<F.LoadSummary> | undefined;
        const fault = await phase(async () => {
          const victims = nsLoad(ns, url, { keepAlive: false });
          await sleep(1000);
          const undo = await F.acceptQueueOverflow({ ns, url, burst, everyS, seconds: SECONDS - 4, pid: lab.pid, cores });
          storm = undo.storm;
          await storm.catch(() => undefined);
          await undo();
          return victims;
        }, tcp);
        report('accept-queue-overflow', base, fault, { backlog, burst, everyS, cores, storm: await storm });
      } finally {
        await lab.stop();
      }
    } finally {
      await ns();
    }
  },

  async 'softirq-saturation'() {
    const pps = opt('pps', 250_000);
    const workers = opt('workers', 2);
    const size = opt('size', 512);
    const ns = await F.clientNetns();
    try {
      const lab = await startLab();
      const ev = () => {
        const s = F.softirqCounts();
        const t = F.cpuTimes();
        return { NET_RX: s.NET_RX, softirq_s: t.softirq, system_s: t.system, user_s: t.user, ...pickCounters(F.netCounters(), ['Udp.NoPorts', 'Udp.InErrors', 'Udp.InDatagrams']) };
      };
      try {
        const base = await phase(loopLoad, ev);
        let flood: F.UdpFloodSummary | undefined;
        const fault = await phase(async () => {
          const undo = await F.udpFlood(ns, `${ns.hostAddr}:${P.udpSink}`, pps, SECONDS + 2, { workers, size });
          await sleep(1000);
          const r = await loopLoad();
          flood = await undo.done;
          await undo();
          return r;
        }, ev);
        report('softirq-saturation', base, fault, { pps, workers, size, flood });
      } finally {
        await lab.stop();
      }
    } finally {
      await ns();
    }
  },
};

function nsLoad(ns: F.ClientNetns, url: string, o: F.NsLoadOptions = {}): Promise<F.LoadSummary> {
  return F.nsLoad(ns, url, RATE, SECONDS, { allowCidr: ns.allowCidr, ...o }).done;
}
function pickCounters(c: Record<string, number>, keys: string[]) {
  return Object.fromEntries(keys.map((k) => [k, c[k] ?? 0]));
}
function pick(trace: string): string {
  return trace
    .split('\n')
    .filter((l) => /^@\w+: /.test(l) || /^@\w+$/.test(l))
    .join(' | ');
}
function devNum(majMin: string): number {
  const [ma, mi] = majMin.split(':').map(Number);
  return (ma << 20) | mi; // the kernel's dev_t as block tracepoints print it
}

const wanted = argv.filter((a) => !a.startsWith('--'));
for (const name of wanted.length ? wanted : Object.keys(scenarios)) {
  const fn = scenarios[name];
  if (!fn) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(' ')}`);
  say(`--- ${name}`);
  try {
    await fn();
  } catch (err) {
    say(`${name} failed: ${(err as Error).stack}`);
    process.exitCode = 1;
  }
  if (F.appliedFaults().length) say(`LEFTOVER: ${F.appliedFaults().join(', ')}`);
  await F.undoAll();
}
