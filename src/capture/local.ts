/**
 * `investigate --local`: a process on this machine as a capture target. Its pprof endpoint is found
 * among the ports it listens on, its files are read with node:fs, bpftrace runs here, and its
 * Prometheus series are the target scraping its pprof port. The capture itself is the engine's.
 */
import os from 'node:os';
import type { ProfileKind } from '../evidence/model.js';
import type { ScriptName } from '../sources/bpftrace/scripts.js';
import type { PprofTarget } from '../sources/pprof/capture.js';
import { localReader } from '../sources/procfs/capture.js';
import type { PromTarget } from '../sources/prometheus/capture.js';
import { selectorForPort } from '../sources/prometheus/discover.js';
import { findPprof, inspectProcess, notFoundPprof } from '../target/local.js';
import type { Progress } from '../ui/progress.js';
import { yieldCpu } from '../util/priority.js';
import { captureTarget, defaultOut, type CaptureResult, type CaptureTarget } from './engine.js';

export type { CaptureResult } from './engine.js';

export interface LocalOptions {
  pid: number;
  pprof?: PprofTarget;
  prometheus?: PromTarget;
  selector?: string;
  /** The node_exporter series of this machine (default: discovered). */
  nodeSelector?: string;
  latencyMetric?: string;
  sinceSeconds: number;
  durationSeconds: number;
  out?: string;
  kinds: ProfileKind[];
  /** bpftrace scripts to run (none with --no-bpf). */
  bpfScripts: ScriptName[];
  bpftrace?: string;
}

export async function captureLocal(o: LocalOptions, progress: Progress, signal: AbortSignal): Promise<CaptureResult> {
  const proc = await inspectProcess(o.pid);
  // We share the machine with the service: our parsing and writing must not take its CPU.
  yieldCpu();
  let pprof = o.pprof;
  if (!pprof) {
    const found = await findPprof(proc.listenPorts, signal);
    if (found) {
      pprof = { baseUrl: found };
      progress.note(`pprof endpoint: ${found}`);
    }
  }
  const target: CaptureTarget = {
    description: { kind: 'local', description: `pid ${proc.pid} (${proc.comm})`, pid: proc.pid, ports: proc.listenPorts },
    pid: proc.pid,
    pprof,
    pprofMissing: () => notFoundPprof(proc),
    reader: localReader(),
    bpftrace: { bpftrace: o.bpftrace },
    nodeNames: [os.hostname()],
    findSelector: async (prom, signal) => {
      const port = pprof ? Number(new URL(pprof.baseUrl).port) : 0;
      if (!port) return {};
      const selector = await selectorForPort(prom, port, signal);
      return selector ? { selector } : { note: `no Prometheus target scrapes port ${port}: pass --selector` };
    },
  };
  return captureTarget(target, o, o.out ?? defaultOut(proc.comm), progress, signal);
}
