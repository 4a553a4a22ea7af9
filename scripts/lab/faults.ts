/**
 * Kernel- and hardware-level fault injectors for the lab: each function APPLIES one fault to the
 * real lab service (or to a client network namespace in front of it) and returns its `undo()`.
 *
 * - An undo is an async function that fully reverts the fault; it is idempotent (a second call,
 *   even a concurrent one, waits for the first and does nothing more) and carries facts about
 *   the fault as properties (`undo.cgroup`, `undo.name`, `undo.fault`, `undo.undone`, ...).
 * - Every applied fault is registered until undone: on process exit, SIGINT or SIGTERM the
 *   registry reverts whatever is still applied, synchronously (an 'exit' handler cannot await).
 *   `undoAll()` reverts everything explicitly.
 * - Nothing here writes to the service's metrics or names: the evidence is generic kernel state
 *   (cgroup cpu.stat, per-thread schedstat, blkio/memcg counters, /proc/net/{snmp,netstat},
 *   /proc/softirqs, PSI), as on a production node.
 *
 * Needs root and the cgroup v1 hierarchies cpu, blkio and memory (what the lab machines have);
 * cgroup v2 hosts get a clear error. Commands run through execa with argument arrays only.
 */
import { execa, execaSync, type ResultPromise } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LAB_DIR } from './lab.js';

const BIN = path.join(LAB_DIR, 'bin');
const log = (msg: string) => process.stderr.write(`faults: ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Registry of applied faults

/** Reverts one applied fault. Idempotent; safe to call concurrently. */
export type Undo = () => Promise<void>;
/** An undo that also carries facts about the applied fault. */
export type Fault<T extends object = object> = Undo & T & { readonly fault: string; readonly undone: boolean };

interface Entry {
  name: string;
  /** Full synchronous revert (exit and signal handlers); a no-op once the fault is reverted. */
  sync: () => void;
  undo: Undo;
}
const applied = new Set<Entry>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => revertAllSync('exit'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      revertAllSync(sig);
      // lab.ts has its own handler that stops the lab's processes and then exits; alone, we exit.
      if (process.listenerCount(sig) === 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function revertAllSync(why: string): void {
  if (applied.size === 0) return;
  log(`${why}: reverting ${applied.size} applied fault(s): ${[...applied].map((e) => e.name).join(', ')}`);
  for (const e of [...applied].reverse()) {
    try {
      e.sync();
    } catch (err) {
      log(`${e.name}: revert failed: ${(err as Error).message}`);
    }
  }
}

/**
 * Registers a revert and returns the idempotent undo. `sync` must fully revert on its own (it is
 * what runs on exit and on signals, where nothing can be awaited) and tolerate a half-reverted
 * state; `async`, if given, is the gentler version `undo()` uses (e.g. TERM, wait, then KILL).
 * The fault stays registered until its revert has finished.
 */
export function registerUndo<T extends object>(name: string, revert: { sync: () => void; async?: () => Promise<void> }, info: T): Fault<T> {
  installHandlers();
  let finished = false;
  let running: Promise<void> | undefined;
  const entry: Entry = {
    name,
    sync: () => {
      if (finished) return;
      finished = true;
      applied.delete(entry);
      revert.sync();
    },
    undo: () => {
      running ??= finished
        ? Promise.resolve()
        : (async () => {
            try {
              if (revert.async) await revert.async();
              else revert.sync();
            } finally {
              finished = true;
              applied.delete(entry);
            }
          })();
      return running;
    },
  };
  applied.add(entry);
  const undo = () => entry.undo();
  Object.defineProperty(undo, 'fault', { value: name, enumerable: true });
  Object.defineProperty(undo, 'undone', { get: () => finished, enumerable: true });
  // defineProperty, not Object.assign: a function's own `name` and `length` are read-only.
  for (const [k, v] of Object.entries(info)) Object.defineProperty(undo, k, { value: v, writable: true, enumerable: true, configurable: true });
  return undo as Fault<T>;
}

/** Reverts every fault still applied, newest first (each with its gentle async undo). */
export async function undoAll(): Promise<void> {
  for (const e of [...applied].reverse()) {
    try {
      await e.undo();
    } catch (err) {
      log(`${e.name}: revert failed: ${(err as Error).message}`);
    }
  }
}

/** Names of the faults currently applied (for assertions in tests). */
export function appliedFaults(): string[] {
  return [...applied].map((e) => e.name);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function run(cmd: string, args: string[]): string {
  return String(execaSync(cmd, args, { stdin: 'ignore' }).stdout);
}
function tryRun(cmd: string, args: string[]): boolean {
  return execaSync(cmd, args, { stdin: 'ignore', reject: false }).exitCode === 0;
}
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function threadIds(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let seq = 0;
function uniqueName(kind: string): string {
  return `p99sleuth-lab-${kind}-${process.pid}-${++seq}`;
}

// ---------------------------------------------------------------------------------------------
// cgroup v1

/** Mount point of the cgroup v1 hierarchy that carries `controller`. */
export function cgroupMount(controller: string): string {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup' && superOpts.split(',').includes(controller)) return pre.split(' ')[4];
  }
  throw new Error(`no cgroup v1 hierarchy with the ${controller} controller is mounted (cgroup v2 hosts are not supported by the lab's fault injectors)`);
}

/** The cgroup (path inside the hierarchy) of `pid` for a v1 controller. */
export function cgroupOf(pid: number, controller: string): string {
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m && m[1].split(',').includes(controller)) return m[2];
  }
  throw new Error(`pid ${pid} has no ${controller} cgroup (v1)`);
}

function writeFile(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

/** Moves whole processes (all threads) into a v1 cgroup directory. */
function moveProcs(pids: number[], dir: string): void {
  for (const pid of pids) writeFile(path.join(dir, 'cgroup.procs'), String(pid));
}

/** Sync revert of a cgroup fault: each pid back where it was, then rmdir (retrying briefly). */
function restoreCgroup(dir: string, origin: Map<number, string>, fallback: string): void {
  for (const [pid, orig] of origin) {
    try {
      if (alive(pid)) writeFile(path.join(orig, 'cgroup.procs'), String(pid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') log(`move ${pid} back to ${orig}: ${(err as Error).message}`);
    }
  }
  // Threads that were moved individually (or a pid we did not know) go to the parent.
  try {
    for (const t of fs.readFileSync(path.join(dir, 'tasks'), 'utf8').split('\n').filter(Boolean)) {
      try {
        writeFile(path.join(fallback, 'tasks'), t);
      } catch {
        /* exited */
      }
    }
  } catch {
    /* dir already gone */
  }
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err;
      sleepSync(100);
    }
  }
  throw new Error(`could not remove ${dir} (still busy)`);
}

interface CgroupFault {
  dir: string;
  origin: Map<number, string>;
  parent: string;
}

/**
 * Creates a child cgroup under `parentRel` in the hierarchy of `controller`, lets `configure` set
 * its limits, moves the pids in and registers the revert. A failure at any step reverts the rest.
 */
async function cgroupFault<T extends object>(
  name: string,
  controller: string,
  parentRel: string,
  pids: number[],
  configure: (dir: string) => void,
  info: (cg: CgroupFault) => T,
): Promise<Fault<T & { cgroup: string }>> {
  const mount = cgroupMount(controller);
  const parent = path.join(mount, parentRel);
  const dir = path.join(parent, uniqueName(name));
  const origin = new Map(pids.map((p) => [p, path.join(mount, cgroupOf(p, controller))] as const));
  fs.mkdirSync(dir);
  const cg = { dir, origin, parent };
  const undo = registerUndo(name, { sync: () => restoreCgroup(dir, origin, parent) }, { ...info(cg), cgroup: dir });
  try {
    configure(dir);
    moveProcs(pids, dir);
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

// ---------------------------------------------------------------------------------------------
// 1. cpu-throttling: CFS bandwidth quota

export interface CpuStat {
  nr_periods: number;
  nr_throttled: number;
  throttled_time: number; // ns
}

export function readCpuStat(cgroupDir: string): CpuStat {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(path.join(cgroupDir, 'cpu.stat'), 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k) out[k] = Number(v);
  }
  return { nr_periods: out.nr_periods ?? 0, nr_throttled: out.nr_throttled ?? 0, throttled_time: out.throttled_time ?? 0 };
}

/**
 * Puts all threads of `pids` in a cgroup v1 cpu child with cfs_period_us 100000 and
 * cfs_quota_us = cores × 100000 (created beneath the first pid's current cpu cgroup).
 */
export async function cpuQuota(pids: number[], cores: number, opts: { periodUs?: number } = {}): Promise<Fault<{ cgroup: string; cpuStat: () => CpuStat }>> {
  const period = opts.periodUs ?? 100_000;
  const quota = Math.round(cores * period);
  if (!(pids.length > 0) || !(quota >= 1000)) throw new Error(`cpuQuota: need pids and a quota >= 1000 µs (cores=${cores})`);
  return cgroupFault(
    'cpu-quota',
    'cpu',
    cgroupOf(pids[0], 'cpu'),
    pids,
    (dir) => {
      writeFile(path.join(dir, 'cpu.cfs_period_us'), String(period));
      writeFile(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
    },
    ({ dir }) => ({ cpuStat: () => readCpuStat(dir) }),
  );
}

// ---------------------------------------------------------------------------------------------
// 2. runqueue-contention: pin the service to one CPU and put CPU hogs on that CPU

/** Sum over the process's threads of schedstat field 2: nanoseconds spent runnable, waiting for a CPU. */
export function runqueueWaitNs(pid: number): number {
  let sum = 0;
  for (const tid of threadIds(pid)) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      /* thread exited */
    }
  }
  return sum;
}

/** Per-thread CPU affinity masks (hex, as taskset prints them). */
function affinities(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of run('taskset', ['-a', '-p', String(pid)]).split('\n')) {
    const m = /pid (\d+)'s current affinity mask: ([0-9a-f]+)/.exec(line);
    if (m) out.set(Number(m[1]), m[2]);
  }
  return out;
}

export interface CpuHogOptions {
  /** CPU to pin the service and the hogs to (default: the last CPU). */
  cpu?: number;
  /** Number of stress-ng CPU hogs on that CPU (default 3: with 2 the effect came and went). */
  hogs?: number;
  /** cpu.shares of the neighbour's cgroup (default 10240: ten times a nice-0 thread's 1024). */
  shares?: number;
  /** Hard bound: stress-ng stops itself after this long (default 120 s). */
  seconds?: number;
}

/**
 * A noisy neighbour on the service's CPU: pins every thread of `pid` to one CPU (`taskset -a -p`)
 * and runs `stress-ng --cpu N --taskset CPU --timeout Ts` there, in its own process group and in
 * a cpu cgroup next to the service's with `cpu.shares` = `shares` (like a pod that requested ten
 * CPUs next to one that requested one). Hogs at equal weight barely delay this service on
 * kernels with EEVDF (its threads wake with positive lag and preempt them, ~60-120 µs waits);
 * the neighbour's larger weight is what makes the run queue wait visible. Undo stops stress-ng
 * (TERM, then KILL of the group), removes its cgroup and restores each thread's affinity
 * (threads born during the fault get the main thread's original mask).
 */
export async function cpuHog(pid: number, opts: CpuHogOptions = {}): Promise<Fault<{ cpu: number; hogs: number; shares: number; hogPid: number; cgroup: string }>> {
  const cpu = opts.cpu ?? os.cpus().length - 1;
  const hogs = opts.hogs ?? 3;
  const shares = opts.shares ?? 10240;
  const seconds = opts.seconds ?? 120;
  if (!(hogs >= 1 && hogs <= 16) || !(seconds > 0 && seconds <= 3600) || !(shares >= 2 && shares <= 262144)) {
    throw new Error('cpuHog: hogs in [1,16], seconds in (0,3600], shares in [2,262144]');
  }
  const original = affinities(pid);
  const mainMask = original.get(pid);
  if (!mainMask) throw new Error(`cpuHog: cannot read the affinity of pid ${pid}`);
  const mount = cgroupMount('cpu');
  const parent = path.join(mount, path.posix.dirname(cgroupOf(pid, 'cpu')));
  const dir = path.join(parent, uniqueName('neighbour'));
  let hog: ResultPromise | undefined;
  const killHog = (sig: NodeJS.Signals) => {
    if (hog?.pid && hog.exitCode === null && hog.signalCode === null) {
      try {
        process.kill(-hog.pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  const restore = () => {
    if (alive(pid)) for (const tid of threadIds(pid)) tryRun('taskset', ['-p', original.get(tid) ?? mainMask, String(tid)]);
    restoreCgroup(dir, new Map(), parent);
  };
  const info = { cpu, hogs, shares, hogPid: 0, cgroup: dir };
  const undo = registerUndo(
    'cpu-hog',
    {
      sync: () => {
        killHog('SIGKILL');
        sleepSync(200);
        restore();
      },
      async: async () => {
        killHog('SIGTERM');
        if (hog) await Promise.race([hog, sleep(3000)]);
        killHog('SIGKILL');
        if (hog) await hog;
        restore();
      },
    },
    info,
  );
  try {
    fs.mkdirSync(dir);
    writeFile(path.join(dir, 'cpu.shares'), String(shares));
    run('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
    hog = execa('stress-ng', ['--cpu', String(hogs), '--taskset', String(cpu), '--timeout', `${seconds}s`, '--quiet'], {
      detached: true, // own process group: undo kills the workers too
      stdio: 'ignore',
      reject: false,
    });
    if (!hog.pid) throw new Error('cpuHog: stress-ng did not start');
    Object.assign(undo, { hogPid: hog.pid });
    // stress-ng forks its workers after start-up: move the parent at once, then any straggler.
    writeFile(path.join(dir, 'cgroup.procs'), String(hog.pid));
    for (const wait of [100, 200, 400, 800]) {
      await sleep(wait);
      for (const p of processGroup(hog.pid)) {
        try {
          writeFile(path.join(dir, 'cgroup.procs'), String(p)); // a no-op for those already there
        } catch {
          /* exited */
        }
      }
    }
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

/** PIDs whose process group is `pgid`. */
function processGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(e)); // state ppid pgrp ...
    } catch {
      /* exited */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. disk-io-latency: blkio v1 write IOPS throttle on the journal's device

/** The whole-disk block device ("MAJ:MIN") that backs `dir`. */
export function blockDeviceOf(dir: string): string {
  const st = fs.statSync(dir, { bigint: true });
  const dev = st.dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  if (major === 0) throw new Error(`${dir} is on a filesystem without a block device (tmpfs, overlay, btrfs subvolume...): put the journal on a disk`);
  let sys = `/sys/dev/block/${major}:${minor}`;
  if (!fs.existsSync(sys)) throw new Error(`${dir}: no ${sys}`);
  if (fs.existsSync(path.join(sys, 'partition'))) sys = path.dirname(fs.realpathSync(sys)); // throttle rules apply to whole disks
  return fs.readFileSync(path.join(sys, 'dev'), 'utf8').trim();
}

export interface BlkioStat {
  /** Bytes and IOs the cgroup issued per device ("MAJ:MIN Write N" lines summed over devices). */
  writeIos: number;
  writeBytes: number;
}

export function readBlkioStat(cgroupDir: string): BlkioStat {
  const sum = (file: string) => {
    let n = 0;
    try {
      for (const line of fs.readFileSync(path.join(cgroupDir, file), 'utf8').split('\n')) {
        const [, op, v] = line.split(' ');
        if (op === 'Write') n += Number(v);
      }
    } catch {
      /* absent */
    }
    return n;
  };
  return { writeIos: sum('blkio.throttle.io_serviced'), writeBytes: sum('blkio.throttle.io_service_bytes') };
}

/**
 * Puts `pid` in a blkio v1 child with `blkio.throttle.write_iops_device = "MAJ:MIN iops"` for the
 * disk behind `dir`. Writes the process submits itself (fsync's writeback of its own dirty pages)
 * then wait in the throttle, so every fsync takes ~1/iops s or more while the block layer's own
 * latency stays normal. Optional `writeBps` adds a byte-rate limit.
 */
export async function diskThrottle(
  pid: number,
  dir: string,
  iops: number,
  opts: { writeBps?: number } = {},
): Promise<Fault<{ cgroup: string; device: string; blkioStat: () => BlkioStat }>> {
  if (!(iops >= 1)) throw new Error('diskThrottle: iops must be >= 1');
  const device = blockDeviceOf(dir);
  return cgroupFault(
    'blkio',
    'blkio',
    cgroupOf(pid, 'blkio'),
    [pid],
    (cg) => {
      writeFile(path.join(cg, 'blkio.throttle.write_iops_device'), `${device} ${Math.round(iops)}`);
      if (opts.writeBps) writeFile(path.join(cg, 'blkio.throttle.write_bps_device'), `${device} ${Math.round(opts.writeBps)}`);
    },
    ({ dir: cg }) => ({ device, blkioStat: () => readBlkioStat(cg) }),
  );
}

// ---------------------------------------------------------------------------------------------
// 4. memory-reclaim: a small memory cgroup limit

export interface MemcgStat {
  limit: number;
  usage: number;
  maxUsage: number;
  failcnt: number;
  /** memory.stat of the cgroup (cache, rss, pgpgin, pgmajfault, ...). */
  stat: Record<string, number>;
}

export function readMemcgStat(cgroupDir: string): MemcgStat {
  const num = (f: string) => Number(fs.readFileSync(path.join(cgroupDir, f), 'utf8').trim());
  const stat: Record<string, number> = {};
  for (const line of fs.readFileSync(path.join(cgroupDir, 'memory.stat'), 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k) stat[k] = Number(v);
  }
  return { limit: num('memory.limit_in_bytes'), usage: num('memory.usage_in_bytes'), maxUsage: num('memory.max_usage_in_bytes'), failcnt: num('memory.failcnt'), stat };
}

/**
 * Moves `pid` into a child memory cgroup (beneath this Node process's own memory cgroup, as the
 * lab machines require) with memory.limit_in_bytes = bytes. Charges made before the move stay
 * with the old cgroup (move_charge_at_immigrate 0), so the limit bounds what the service allocates
 * and caches from now on: its journal's page cache then reclaims constantly. There is no swap:
 * if anonymous memory alone outgrows the limit the kernel OOM-kills the service, so keep `bytes`
 * well above the service's heap growth (>= 16 MiB for labsvc at 50 req/s).
 */
export async function memcgLimit(pid: number, bytes: number): Promise<Fault<{ cgroup: string; memcgStat: () => MemcgStat }>> {
  if (!(bytes >= 4 << 20)) throw new Error('memcgLimit: bytes must be >= 4 MiB');
  return cgroupFault(
    'memcg',
    'memory',
    cgroupOf(process.pid, 'memory'),
    [pid],
    (dir) => writeFile(path.join(dir, 'memory.limit_in_bytes'), String(Math.round(bytes))),
    ({ dir }) => ({ memcgStat: () => readMemcgStat(dir) }),
  );
}

// ---------------------------------------------------------------------------------------------
// 5. Network: a client network namespace behind a veth pair, and packet loss inside it

export interface ClientNetns {
  /** Namespace name, for `ip netns exec NAME ...`. */
  name: string;
  hostIf: string;
  nsIf: string;
  /** Host end: the service listens here (labsvc --extra-addr=HOSTADDR:PORT). */
  hostAddr: string;
  nsAddr: string;
  /** For loadgen --allow-cidr. */
  allowCidr: string;
  /** `ip netns exec NAME cmd args...` as an argument array for execa('ip', ...). */
  execArgs: (cmd: string, args: string[]) => string[];
}

const NETNS_PREFIX = 'p99s-client-';

/**
 * Creates network namespace "p99s-client-N" with a veth pair: host end 10.231.N.1/30 (in this
 * process's namespace, where the service runs), namespace end 10.231.N.2/30, lo up. A load
 * generator run with `ip netns exec` then reaches a service listening on the host end address
 * across a real TCP path with its own retransmissions, accept queue and NET_RX softirq work.
 * Undo kills whatever still runs in the namespace, deletes the veth pair and the namespace.
 */
export async function clientNetns(): Promise<Fault<ClientNetns>> {
  const existing = new Set(run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]));
  let n = -1;
  for (let i = 0; i < 64; i++) {
    if (!existing.has(NETNS_PREFIX + i) && !fs.existsSync(`/sys/class/net/p99s${i}h`)) {
      n = i;
      break;
    }
  }
  if (n < 0) throw new Error('clientNetns: no free index (64 lab namespaces exist?)');
  const name = NETNS_PREFIX + n;
  const hostIf = `p99s${n}h`;
  const nsIf = `p99s${n}n`;
  const info: ClientNetns = {
    name,
    hostIf,
    nsIf,
    hostAddr: `10.231.${n}.1`,
    nsAddr: `10.231.${n}.2`,
    allowCidr: '10.231.0.0/16',
    execArgs: (cmd, args) => ['netns', 'exec', name, cmd, ...args],
  };
  const revert = () => {
    const pids = execaSync('ip', ['netns', 'pids', name], { reject: false, stdin: 'ignore' });
    for (const p of String(pids.stdout ?? '').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL'); // only what the lab started runs in its namespace
      } catch {
        /* gone */
      }
    }
    if (fs.existsSync(`/sys/class/net/${hostIf}`)) tryRun('ip', ['link', 'del', hostIf]);
    if (fs.existsSync(`/run/netns/${name}`)) run('ip', ['netns', 'del', name]);
  };
  const undo = registerUndo('client-netns', { sync: revert }, info);
  try {
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name]);
    run('ip', ['addr', 'add', `${info.hostAddr}/30`, 'dev', hostIf]);
    run('ip', ['link', 'set', hostIf, 'up']);
    run('ip', ['-n', name, 'addr', 'add', `${info.nsAddr}/30`, 'dev', nsIf]);
    run('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

const nsName = (ns: string | { name: string }) => (typeof ns === 'string' ? ns : ns.name);

/**
 * Drops each TCP segment coming FROM the service's port with probability p, in the INPUT chain
 * of the client namespace: the segment has crossed the wire and is lost on the receiving side,
 * so the service's kernel retransmits it (RTO ≥ 200 ms; Tcp RetransSegs, TcpExt TCPLossProbes /
 * TCPTimeouts in the service's namespace) while its own latency histogram barely moves. (A DROP
 * in the sender's OUTPUT chain fails locally and counts no retransmission.)
 */
export async function packetLoss(ns: string | { name: string }, port: number, probability: number): Promise<Fault<{ rule: string[] }>> {
  if (!(probability > 0 && probability < 1)) throw new Error('packetLoss: probability must be in (0, 1)');
  const name = nsName(ns);
  const rule = ['INPUT', '-p', 'tcp', '--sport', String(port), '-m', 'statistic', '--mode', 'random', '--probability', probability.toFixed(4), '-m', 'comment', '--comment', 'p99sleuth-lab', '-j', 'DROP'];
  const undo = registerUndo(
    'packet-loss',
    {
      sync: () => {
        if (fs.existsSync(`/run/netns/${name}`)) tryRun('ip', ['netns', 'exec', name, 'iptables', '-w', '-D', ...rule]);
      },
    },
    { rule },
  );
  try {
    run('ip', ['netns', 'exec', name, 'iptables', '-w', '-A', ...rule]);
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

export interface NsLoadOptions {
  arrivals?: 'uniform' | 'poisson';
  /** false: a new TCP connection per request (Connection: close). */
  keepAlive?: boolean;
  maxInflight?: number;
  timeoutS?: number;
  allowCidr?: string;
  seed?: number;
  /** Requests per arrival instant (loadgen --burst): N new requests fall due together. */
  burst?: number;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  [k: string]: number;
}

/** Runs the lab loadgen inside a namespace against `url` (open loop, bounded by `seconds`). */
export function nsLoad(ns: string | { name: string }, url: string, rate: number, seconds: number, o: NsLoadOptions = {}): { done: Promise<LoadSummary>; stop: () => void } {
  const args = [
    `--url=${url}`,
    `--rate=${rate}`,
    `--duration=${seconds}s`,
    `--arrivals=${o.arrivals ?? 'poisson'}`,
    `--allow-cidr=${o.allowCidr ?? '10.231.0.0/16'}`,
    `--keepalive=${o.keepAlive ?? true}`,
    `--max-inflight=${o.maxInflight ?? 2000}`,
    `--timeout=${o.timeoutS ?? 10}s`,
    `--seed=${o.seed ?? 1}`,
    `--burst=${o.burst ?? 1}`,
  ];
  return runTracked('loadgen', ['netns', 'exec', nsName(ns), path.join(BIN, 'loadgen'), ...args], seconds + (o.timeoutS ?? 10) + 30);
}

/** Starts `ip netns exec ...` (ip execs the command: same pid), registered until it ends. */
function runTracked<T>(name: string, ipArgs: string[], boundS: number): { done: Promise<T>; stop: () => void } {
  const proc = execa('ip', ipArgs, { stdio: ['ignore', 'pipe', 'pipe'], reject: false, timeout: boundS * 1000, forceKillAfterDelay: 3000 });
  const kill = (sig: NodeJS.Signals) => {
    if (proc.exitCode === null) proc.kill(sig);
  };
  const undo = registerUndo(name, { sync: () => kill('SIGKILL'), async: async () => { kill('SIGTERM'); await proc; } }, {});
  const done = proc.then((r) => {
    void undo();
    const line = String(r.stdout).trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`${name} failed (exit ${r.exitCode}): ${String(r.stderr).slice(-500)}`);
    }
  });
  return { done, stop: () => kill('SIGTERM') };
}

// ---------------------------------------------------------------------------------------------
// 6. accept-queue-overflow: reconnect storms against a small accept queue

export interface AcceptQueueOptions {
  /** The client namespace (from clientNetns()). */
  ns: string | { name: string };
  /** URL on the host end address, e.g. http://10.231.0.1:16210/api/checkout. */
  url: string;
  /** New connections that arrive together in each burst (default 300). */
  burst?: number;
  /** Seconds between bursts (default 1). */
  everyS?: number;
  /** Storm length (default 10 s). */
  seconds?: number;
  /** Optionally also starve the service of CPU during the storm: its pid and a CFS quota in cores. */
  pid?: number;
  cores?: number;
}

/**
 * Reproduces a listen-queue overflow as it happens in production: clients that open a new TCP
 * connection per request and reconnect together (a pool re-dialling after a failover, clients
 * woken by the same timer) send bursts of SYNs faster than the accept loop drains the queue.
 * The kernel then drops handshakes (TcpExt ListenOverflows and ListenDrops in the service's
 * namespace) and the clients wait for SYN / SYN-ACK retransmissions (1 s, then 3 s), while the
 * service's own histogram, which starts after accept(), sees far less.
 *
 * With Go's default backlog (net.core.somaxconn, 4096 here) bursts of several thousand are
 * needed; start labsvc with `--listen-backlog=128` (a node or namespace with the pre-5.4
 * default somaxconn) to overflow with bursts of a few hundred. `cores` adds a CFS quota for the
 * storm's duration (a harsher, overloaded variant). `undo.storm` resolves with the storm's
 * loadgen summary; undo stops the storm early and lifts the quota.
 */
export async function acceptQueueOverflow(
  o: AcceptQueueOptions,
): Promise<Fault<{ storm: Promise<LoadSummary>; quota?: Fault<{ cgroup: string; cpuStat: () => CpuStat }> }>> {
  const seconds = o.seconds ?? 10;
  const burst = o.burst ?? 300;
  const everyS = o.everyS ?? 1;
  if (!(burst >= 1 && burst <= 20_000) || !(everyS > 0) || !(seconds > 0 && seconds <= 600)) throw new Error('acceptQueueOverflow: burst in [1,20000], everyS > 0, seconds in (0,600]');
  const quota = o.cores && o.pid ? await cpuQuota([o.pid], o.cores) : undefined;
  let storm: { done: Promise<LoadSummary>; stop: () => void };
  try {
    storm = nsLoad(o.ns, o.url, burst / everyS, seconds, { keepAlive: false, arrivals: 'uniform', burst, maxInflight: 50_000, timeoutS: 10 });
  } catch (err) {
    await quota?.();
    throw err;
  }
  // The quota ends with the storm, as a real burst ends: undo() only has to wait for both.
  const stormDone = storm.done.finally(() => quota?.());
  stormDone.catch(() => undefined);
  return registerUndo(
    'accept-queue-overflow',
    {
      sync: () => storm.stop(), // the storm and the quota have their own registry entries too
      async: async () => {
        storm.stop();
        await stormDone.catch(() => undefined);
        await quota?.();
      },
    },
    { storm: stormDone, quota },
  );
}

// ---------------------------------------------------------------------------------------------
// 7. softirq-saturation: a UDP flood across the veth into the service's namespace

export interface UdpFloodSummary {
  target: string;
  pps: number;
  sent: number;
  errors: number;
  durationS: number;
  achievedPps: number;
}

/**
 * Floods `target` ("IP:PORT", normally the host end of the client namespace's veth and a port
 * nobody listens on) with UDP datagrams from inside namespace `ns` at `pps` for `seconds`, using
 * the lab's bounded `udpflood`. Every datagram is received, checksummed and dropped by the
 * service's namespace in NET_RX softirq (Udp NoPorts / InErrors in /proc/net/snmp, NET_RX in
 * /proc/softirqs, softirq time in /proc/stat). `undo.done` resolves with the flood's summary.
 */
export async function udpFlood(
  ns: string | { name: string },
  target: string,
  pps: number,
  seconds: number,
  opts: { size?: number; workers?: number } = {},
): Promise<Fault<{ done: Promise<UdpFloodSummary> }>> {
  const args = [`--target=${target}`, `--pps=${pps}`, `--duration=${seconds}s`, `--size=${opts.size ?? 512}`, `--workers=${opts.workers ?? 2}`];
  const r = runTracked<UdpFloodSummary>('udpflood', ['netns', 'exec', nsName(ns), path.join(BIN, 'udpflood'), ...args], seconds + 30);
  r.done.catch(() => undefined);
  return registerUndo(
    'udp-flood',
    {
      sync: () => r.stop(),
      async: async () => {
        r.stop();
        await r.done.catch(() => undefined);
      },
    },
    { done: r.done },
  );
}

// ---------------------------------------------------------------------------------------------
// Generic evidence readers (what the diagnosing rules read, for checks in lab scripts)

/**
 * /proc/net/snmp and /proc/net/netstat as "Proto.Field" → value (Tcp.RetransSegs,
 * TcpExt.ListenOverflows, Udp.NoPorts, ...), in this process's namespace or inside `ns`.
 */
export function netCounters(ns?: string | { name: string }): Record<string, number> {
  const text = ns
    ? run('ip', ['netns', 'exec', nsName(ns), 'cat', '/proc/net/snmp', '/proc/net/netstat'])
    : fs.readFileSync('/proc/net/snmp', 'utf8') + fs.readFileSync('/proc/net/netstat', 'utf8');
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const h = lines[i].split(/\s+/);
    const v = lines[i + 1].split(/\s+/);
    if (h[0] !== v[0] || !h[0].endsWith(':') || Number.isNaN(Number(v[1]))) continue;
    const proto = h[0].slice(0, -1);
    for (let j = 1; j < h.length; j++) if (h[j]) out[`${proto}.${h[j]}`] = Number(v[j]);
    i++;
  }
  return out;
}

/** /proc/softirqs summed over CPUs: { NET_RX: n, TIMER: n, ... }. */
export function softirqCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync('/proc/softirqs', 'utf8').split('\n').slice(1)) {
    const [k, ...v] = line.trim().split(/\s+/);
    if (k) out[k.replace(/:$/, '')] = v.reduce((a, b) => a + Number(b), 0);
  }
  return out;
}

/** Host CPU time from /proc/stat in seconds, by mode (user, system, softirq, irq, steal, ...). */
export function cpuTimes(): Record<string, number> {
  const names = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const hz = 100; // USER_HZ
  return Object.fromEntries(names.map((n, i) => [n, (f[i] ?? 0) / hz]));
}

/** PSI "some"/"full" totals (µs) for cpu, io or memory. */
export function pressure(resource: 'cpu' | 'io' | 'memory'): { some: number; full: number } {
  const out = { some: 0, full: 0 };
  for (const line of fs.readFileSync(`/proc/pressure/${resource}`, 'utf8').split('\n')) {
    const m = /^(some|full) .*total=(\d+)/.exec(line);
    if (m) out[m[1] as 'some' | 'full'] = Number(m[2]);
  }
  return out;
}
