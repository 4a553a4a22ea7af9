/**
 * Where a process's cgroup files are (pure). /proc/PID/cgroup gives the cgroup path per hierarchy,
 * relative to the reader's cgroup namespace; mountinfo says where each hierarchy is mounted and which
 * part of it (its root field, also namespace-relative). The result is written into the capture as
 * `cgroup/_info` so the parser knows the version and paths without guessing.
 */
import { inputError } from '../../errors.js';

/** Controllers whose files we read (v1 hierarchies) plus `unified` (the v2 hierarchy). */
export type CgroupSlot = 'cpu' | 'cpuacct' | 'memory' | 'unified';

export interface CgroupMembership {
  /** v1 controller → cgroup path, plus the hierarchy's controller list as mounted (`cpu,cpuacct`). */
  v1: Partial<Record<CgroupSlot, { path: string; hierarchy: string }>>;
  /** Path in the v2 hierarchy (`0::/path`), when the kernel has one. */
  v2?: string;
}

/** /proc/PID/cgroup: `hierarchy-ID:controller-list:path` per line. */
export function parseProcCgroup(text: string, file = 'pid/cgroup'): CgroupMembership {
  const out: CgroupMembership = { v1: {} };
  for (const line of text.split('\n').filter((l) => l.trim())) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) throw inputError(`${file}: not a cgroup line: ${JSON.stringify(line.slice(0, 60))}`);
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    for (const c of m[2].split(',')) if (c === 'cpu' || c === 'cpuacct' || c === 'memory') out.v1[c] = { path: m[3], hierarchy: m[2] };
  }
  return out;
}

export interface CgroupMount { root: string; mountPoint: string; fstype: string; superOptions: string[] }

/** cgroup and cgroup2 entries of /proc/self/mountinfo (proc(5): fields before ` - `, then fstype source super-options). */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const f = pre.split(' ');
    const [fstype, , opts = ''] = post.split(' ');
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && f.length >= 5) out.push({ root: unescape(f[3]), mountPoint: unescape(f[4]), fstype, superOptions: opts.split(',') });
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export interface CgroupPlan {
  version: 1 | 2;
  /** slot → cgroup path (as /proc/PID/cgroup shows it) and the directory holding its files. */
  slots: Partial<Record<CgroupSlot, { path: string; dir: string }>>;
  /** Why a slot could not be resolved. */
  notes: string[];
}

/**
 * Directories of the process's cgroups. With mounts (from mountinfo) each path is mapped through the
 * mount whose root contains it; without (cgroupRoot given) the usual layout under `cgroupRoot` is
 * assumed: `<root>/<controller-list><path>` for v1, `<root><path>` for v2, `<root>/unified<path>` for
 * the v2 hierarchy of a hybrid (v1 + v2) system.
 */
export function planCgroup(m: CgroupMembership, mounts: CgroupMount[] | undefined, cgroupRoot = '/sys/fs/cgroup'): CgroupPlan | undefined {
  const v1 = Object.keys(m.v1).length > 0;
  if (!v1 && m.v2 === undefined) return undefined;
  const plan: CgroupPlan = { version: v1 ? 1 : 2, slots: {}, notes: [] };
  const root = cgroupRoot.replace(/\/+$/, '');
  const wanted: Array<[CgroupSlot, string, string | undefined]> = (['cpu', 'cpuacct', 'memory'] as const)
    .filter((c) => m.v1[c])
    .map((c) => [c, m.v1[c]!.path, m.v1[c]!.hierarchy]);
  if (m.v2 !== undefined) wanted.push(['unified', m.v2, undefined]);
  for (const [slot, path, hierarchy] of wanted) {
    if (path.split('/').includes('..')) {
      plan.notes.push(`${slot}: cgroup path ${path} lies outside this cgroup namespace`);
      continue;
    }
    const dir = mounts ? viaMount(mounts, slot, path) : slot === 'unified' ? `${root}${v1 ? '/unified' : ''}${trim(path)}` : `${root}/${hierarchy}${trim(path)}`;
    if (dir) plan.slots[slot] = { path, dir };
    else plan.notes.push(`${slot}: no mounted ${slot === 'unified' ? 'cgroup2' : `cgroup ${slot}`} hierarchy contains ${path}`);
  }
  return plan;
}

const trim = (p: string) => (p === '/' ? '' : p.replace(/\/+$/, ''));

function viaMount(mounts: CgroupMount[], slot: CgroupSlot, path: string): string | undefined {
  const candidates = mounts.filter((mt) => (slot === 'unified' ? mt.fstype === 'cgroup2' : mt.fstype === 'cgroup' && mt.superOptions.includes(slot)));
  for (const mt of candidates) {
    const r = trim(mt.root);
    if (r === '' || path === r || path.startsWith(`${r}/`)) return `${mt.mountPoint.replace(/\/+$/, '')}${trim(path.slice(r.length) || '/')}`;
  }
  return undefined;
}

/** The `cgroup/_info` text: `version\tN`, `<slot>\t<path>\t<dir>` per slot, `note\t<text>`. */
export function formatCgroupInfo(plan: CgroupPlan): string {
  const rows = [`version\t${plan.version}`, ...Object.entries(plan.slots).map(([s, v]) => `${s}\t${v.path}\t${v.dir}`), ...plan.notes.map((n) => `note\t${n}`)];
  return rows.join('\n') + '\n';
}

export function parseCgroupInfo(text: string, file = 'cgroup/_info'): CgroupPlan {
  let version: 1 | 2 | undefined;
  const plan: Omit<CgroupPlan, 'version'> = { slots: {}, notes: [] };
  for (const line of text.split('\n').filter(Boolean)) {
    const [k, a, b] = line.split('\t');
    if (k === 'version' && (a === '1' || a === '2')) version = Number(a) as 1 | 2;
    else if (k === 'note' && a !== undefined) plan.notes.push(a);
    else if ((k === 'cpu' || k === 'cpuacct' || k === 'memory' || k === 'unified') && a !== undefined && b !== undefined) plan.slots[k] = { path: a, dir: b };
    else throw inputError(`${file}: unexpected line ${JSON.stringify(line.slice(0, 60))}`);
  }
  if (!version) throw inputError(`${file}: no "version" line`);
  return { version, ...plan };
}
