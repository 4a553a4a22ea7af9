/**
 * Running things on the target's node through `kubectl exec` into the node pod: file reads for the
 * procfs/cgroup collectors (batched, one exec per batch), the bpftrace command prefix, and finding
 * the target container's host processes from /proc.
 *
 * The only shell code is the constant scripts below; every value reaches them as a positional
 * parameter ("$@"), never spliced into script text, and is validated first.
 */
import type { BpftraceCommand } from '../../sources/bpftrace/run.js';
import type { FileReader } from '../../sources/procfs/capture.js';
import { parseProcNetTcp } from '../local.js';
import { kubectlError, spawnError, type Kubectl } from './kubectl.js';
import { AGENT_CONTAINER, type NodePod } from './nodepod.js';

// grep -H prints "path:line" for every line of every readable file; -s silences unreadable ones.
// Entering PID 1's cgroup namespace (when allowed) makes /proc/PID/cgroup show host paths rather
// than paths relative to the node pod's own cgroup.
const READ = `if nsenter -t 1 -C true 2>/dev/null; then exec nsenter -t 1 -C -- grep -H -s '' -- "$@"; fi
exec grep -H -s '' -- "$@"`;
const LIST = `exec ls -1 -- "$1"`;
// Processes whose cgroup names the container: the ID is in the cgroup path for every runtime and driver.
const PIDS = `exec grep -l -F -s -- "$1" /proc/[0-9]*/cgroup`;

// Absolute paths of the characters procfs and cgroupfs use (v1 hierarchies like cpu,cpuacct have a
// comma); no ":" (it ends the path in grep -H output).
const SAFE_PATH = /^\/(?!.*\/\.\.?(\/|$))[A-Za-z0-9_.,@+\-/]+$/;
const BATCH = 200;

export class NodeShell {
  constructor(
    readonly k: Kubectl,
    readonly pod: NodePod,
  ) {}

  private execArgs(argv: string[]): string[] {
    return ['exec', this.pod.name, '--container', AGENT_CONTAINER, '--', ...argv];
  }

  /** Run a constant script in the node pod; exit 1 and 2 are grep's "no match" and "some file unreadable". */
  async script(script: string, args: string[], signal?: AbortSignal, timeoutMs = 30_000): Promise<string> {
    const r = await this.k.run(this.execArgs(['sh', '-c', script, 'sh', ...args]), { namespace: this.pod.namespace, signal, timeoutMs, okExitCodes: [1, 2] });
    // kubectl exits 1 for its own failures too (forbidden, pod gone); only a remote exit is an answer.
    if (r.exitCode !== 0 && !/command terminated with exit code/.test(r.stderr)) throw kubectlError('kubectl exec', r.stderr, r.exitCode);
    return r.stdout;
  }

  /** bpftrace in the node pod, at the lowest CPU priority; the program goes with -e (the .bt files are on this side). */
  bpftraceCommand(): BpftraceCommand {
    return {
      file: this.k.o.kubectl,
      prefixArgs: this.k.argv(this.execArgs(['nice', '-n', '19', 'bpftrace']), this.pod.namespace),
      inlineScript: true,
      // A remote exit is bpftrace's ("command terminated with exit code N"); anything else is kubectl's.
      transportError: (r) =>
        r.spawnErrorCode ? spawnError(this.k.o.kubectl, r.spawnErrorCode)
        : /command terminated with exit code/.test(r.stderr) ? undefined
        : kubectlError('kubectl exec bpftrace', r.stderr, r.exitCode ?? -1),
    };
  }

  /** A FileReader over the node: reads issued together go out as one exec. */
  reader(signal?: AbortSignal): FileReader {
    let queue: Array<{ path: string; resolve: (t: string | undefined) => void }> = [];
    let scheduled = false;
    const flush = async () => {
      scheduled = false;
      const batch = queue;
      queue = [];
      for (let i = 0; i < batch.length; i += BATCH) {
        const part = batch.slice(i, i + BATCH);
        const texts = await this.script(READ, [...new Set(part.map((q) => q.path))], signal)
          .then(splitGrepH)
          .catch(() => new Map<string, string>());
        for (const q of part) q.resolve(texts.get(q.path));
      }
    };
    return {
      read: (path) => {
        if (!SAFE_PATH.test(path)) return Promise.resolve(undefined);
        return new Promise((resolve) => {
          queue.push({ path, resolve });
          if (!scheduled) {
            scheduled = true;
            setImmediate(() => void flush());
          }
        });
      },
      list: async (dir) => {
        if (!SAFE_PATH.test(dir)) return [];
        const out = await this.script(LIST, [dir], signal).catch(() => '');
        return out.split('\n').filter(Boolean);
      },
    };
  }

  /** Host PIDs whose /proc/PID/cgroup names the container ID. */
  async containerPids(containerId: string, signal?: AbortSignal): Promise<number[]> {
    if (!/^[a-f0-9]{12,128}$/.test(containerId)) return [];
    const out = await this.script(PIDS, [containerId], signal, 60_000);
    return out
      .split('\n')
      .map((l) => /^\/proc\/(\d+)\/cgroup$/.exec(l.trim())?.[1])
      .filter((p): p is string => p !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }
}

/** `grep -H '' files…` output → file → text (each line restored with its newline). An empty file reads as absent. */
export function splitGrepH(out: string): Map<string, string> {
  const texts = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const path = line.slice(0, i);
    let lines = texts.get(path);
    if (!lines) texts.set(path, (lines = []));
    lines.push(line.slice(i + 1));
  }
  return new Map([...texts].map(([p, ls]) => [p, ls.join('\n') + '\n']));
}

/**
 * The container's main process among its PIDs: the one that is PID 1 inside the container's PID
 * namespace (last NSpid field), else the lowest. Statuses are /proc/PID/status texts.
 */
export function mainProcess(statuses: Map<number, string | undefined>): number | undefined {
  const alive = [...statuses].filter(([, s]) => s !== undefined).map(([pid, s]) => ({ pid, nspid: /^NSpid:\s+(.*)$/m.exec(s!)?.[1].trim().split(/\s+/).map(Number) }));
  if (!alive.length) return undefined;
  const init = alive.filter((p) => p.nspid && p.nspid.length > 1 && p.nspid[p.nspid.length - 1] === 1);
  return (init.length ? init : alive).map((p) => p.pid).sort((a, b) => a - b)[0];
}

/** LISTEN ports in the network namespace of `pid` (the pod's: every container of a pod shares it). */
export async function podListenPorts(reader: FileReader, pid: number): Promise<number[]> {
  const ports = new Set<number>();
  for (const t of ['tcp', 'tcp6']) {
    for (const e of parseProcNetTcp((await reader.read(`/proc/${pid}/net/${t}`)) ?? '')) if (e.state === 'LISTEN') ports.add(e.port);
  }
  return [...ports].sort((a, b) => a - b);
}

/** The process's cgroup lines that name the pod (UID with - or _) and the container: evidence that we found the right one. */
export function cgroupNamesContainer(cgroupText: string, podUid: string, containerId?: string): boolean {
  const uidForms = podUid ? [podUid, podUid.replace(/-/g, '_')] : [];
  return cgroupText.split('\n').some((l) => (containerId ? l.includes(containerId) : true) && (uidForms.length === 0 || uidForms.some((u) => l.includes(u))));
}
