/**
 * Snapshot of the kernel's counters about one process: system-wide /proc files, the process's own
 * files (its network namespace's TCP counters and sockets, per-thread schedstat) and its cgroup's
 * files. All I/O goes through a FileReader so the same code can later read a node via `kubectl exec`.
 * Take one snapshot before and one after a window and hand both to kernelDelta (parse.ts).
 */
import { readFile, readdir } from 'node:fs/promises';
import { SleuthError, usageError } from '../../errors.js';
import { formatCgroupInfo, parseMountinfo, parseProcCgroup, planCgroup, type CgroupPlan, type CgroupSlot } from './cgroup.js';

export interface FileReader {
  /** The file's text; undefined when it is absent or unreadable. */
  read(path: string): Promise<string | undefined>;
  /** Names in a directory; [] when it is absent or unreadable. */
  list(dir: string): Promise<string[]>;
}

/** Reads this machine's files with node:fs. */
export function localReader(): FileReader {
  return {
    read: (p) => readFile(p, 'utf8').catch(() => undefined),
    list: (d) => readdir(d).catch(() => []),
  };
}

export interface ProcfsOptions {
  /** Where the host's /proc is mounted (default /proc). */
  procRoot?: string;
  /** Where cgroup hierarchies are mounted; when given, mountinfo is not consulted (default /sys/fs/cgroup). */
  cgroupRoot?: string;
}

// System-wide files: key → path under procRoot.
const SYSTEM: Array<[string, string]> = [
  ['proc/stat', 'stat'],
  ['proc/softirqs', 'softirqs'],
  ['proc/interrupts', 'interrupts'],
  ['proc/pressure/cpu', 'pressure/cpu'],
  ['proc/pressure/io', 'pressure/io'],
  ['proc/pressure/memory', 'pressure/memory'],
];
// The process's files; net/* describe the network namespace the process lives in.
const PROCESS = ['status', 'net/snmp', 'net/netstat', 'net/tcp', 'net/tcp6'];
const CGROUP_V1: Partial<Record<CgroupSlot, string[]>> = {
  cpu: ['cpu.stat', 'cpu.cfs_quota_us', 'cpu.cfs_period_us'],
  cpuacct: ['cpuacct.usage'],
  memory: ['memory.failcnt', 'memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.stat'],
};
const CGROUP_V2 = ['cpu.stat', 'cpu.max', 'cpu.pressure', 'io.pressure', 'memory.pressure', 'memory.events', 'memory.max', 'memory.current', 'memory.stat'];
// On a hybrid system the v2 hierarchy carries no controllers but still per-cgroup PSI.
const HYBRID_V2 = ['cpu.pressure', 'io.pressure', 'memory.pressure'];

/**
 * Every key readProcfs may produce (a `<tid>` stands for each thread). Keys are relative paths of
 * [a-z0-9_./-]; `cgroup/_info` is ours (version, per slot `name\tcgroup-path\tdirectory`, notes).
 */
export function kernelFileNames(): string[] {
  return [
    ...SYSTEM.map(([k]) => k),
    'pid/cgroup',
    ...PROCESS.map((f) => `pid/${f}`),
    'task/<tid>/schedstat',
    'cgroup/_info',
    ...new Set([...Object.values(CGROUP_V1).flat(), ...CGROUP_V2].map((f) => `cgroup/${f}`)),
  ];
}

/**
 * Raw texts of the kernel files about `pid`, keyed by kernelFileNames(). A file that is absent or
 * unreadable is simply missing from the result (so is everything of a process that has exited).
 */
export async function readProcfs(pid: number, reader: FileReader, opts: ProcfsOptions = {}): Promise<Record<string, string>> {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw usageError(`PID ${pid} is not a positive integer`);
  const proc = (opts.procRoot ?? '/proc').replace(/\/+$/, '');
  const [cgroupText, mountinfo, tids] = await Promise.all([
    reader.read(`${proc}/${pid}/cgroup`),
    opts.cgroupRoot === undefined ? reader.read(`${proc}/self/mountinfo`) : undefined,
    reader.list(`${proc}/${pid}/task`),
  ]);
  const plan = cgroupText === undefined ? undefined : cgroupPlan(cgroupText, mountinfo, opts.cgroupRoot);
  const wanted: Array<[string, string]> = [
    ...SYSTEM.map(([k, p]): [string, string] => [k, `${proc}/${p}`]),
    ...PROCESS.map((f): [string, string] => [`pid/${f}`, `${proc}/${pid}/${f}`]),
    ...tids.filter((t) => /^\d+$/.test(t)).map((t): [string, string] => [`task/${t}/schedstat`, `${proc}/${pid}/task/${t}/schedstat`]),
    ...(plan ? cgroupFiles(plan) : []),
  ];
  const texts = await mapLimit(wanted, 32, ([, p]) => reader.read(p));
  const out: Record<string, string> = {};
  wanted.forEach(([k], i) => {
    const t = texts[i];
    if (t !== undefined) out[k] = t;
  });
  if (cgroupText !== undefined) out['pid/cgroup'] = cgroupText;
  if (plan) out['cgroup/_info'] = formatCgroupInfo(plan);
  return out;
}

// An unparsable /proc/PID/cgroup leaves the cgroup out (kernelDelta reports the gap) rather than losing the snapshot.
function cgroupPlan(cgroupText: string, mountinfo: string | undefined, cgroupRoot: string | undefined): CgroupPlan | undefined {
  try {
    return planCgroup(parseProcCgroup(cgroupText), mountinfo === undefined ? undefined : parseMountinfo(mountinfo), cgroupRoot);
  } catch (err) {
    if (err instanceof SleuthError) return undefined;
    throw err;
  }
}

function cgroupFiles(plan: CgroupPlan): Array<[string, string]> {
  const files = (slot: CgroupSlot, names: string[]) => {
    const dir = plan.slots[slot]?.dir;
    return dir === undefined ? [] : names.map((n): [string, string] => [`cgroup/${n}`, `${dir}/${n}`]);
  };
  if (plan.version === 2) return files('unified', CGROUP_V2);
  const v1 = (['cpu', 'cpuacct', 'memory'] as const).flatMap((s) => files(s, CGROUP_V1[s] ?? []));
  // A hybrid's unified root would only repeat /proc/pressure.
  return plan.slots.unified?.path === '/' ? v1 : [...v1, ...files('unified', HYBRID_V2)];
}

/** Promise.all with at most `limit` in flight (a Go service can have hundreds of threads). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
