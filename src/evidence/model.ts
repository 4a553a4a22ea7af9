/** The typed evidence the analysis reads: loaded from a bundle, independent of how it was captured. */
import type { Folded } from '../sources/pprof/fold.js';
import type { MetricKey } from '../sources/prometheus/queries.js';
import type { BpfOutput } from '../sources/bpftrace/parse.js';
import type { KernelDelta } from '../sources/procfs/parse.js';
import type { Manifest, WindowName } from './manifest.js';

export type ProfileKind = 'cpu' | 'goroutine' | 'mutex' | 'block' | 'heap' | 'allocs';
export const PROFILE_KINDS: readonly ProfileKind[] = ['cpu', 'goroutine', 'mutex', 'block', 'heap', 'allocs'];

/** The sample type each kind is analysed by. */
export const PROFILE_SAMPLE_TYPE: Record<ProfileKind, string> = {
  cpu: 'cpu',
  goroutine: 'goroutine',
  mutex: 'delay',
  block: 'delay',
  heap: 'inuse_space',
  allocs: 'alloc_space',
};

export interface ProfileEvidence {
  kind: ProfileKind;
  window: WindowName;
  artifacts: string[];
  /** Folded by PROFILE_SAMPLE_TYPE; goroutine snapshots are averaged. */
  folded: Folded;
  /** Seconds the values accumulate over (CPU duration, delta seconds); 0 for snapshots. */
  seconds: number;
  snapshots: number;
  /** Each snapshot in capture order with its time (unix seconds), when a window holds several. */
  series?: Array<{ time: number; folded: Folded }>;
}

export interface MetricEvidence {
  key: MetricKey;
  query: string;
  artifact: string;
  points: Array<[number, number]>;
}

export interface WindowEvidence {
  window: WindowName;
  start: number; // unix seconds
  end: number;
  profiles: Partial<Record<ProfileKind, ProfileEvidence>>;
}

/** Kernel evidence of the capture window: procfs/cgroup deltas and bpftrace outputs. */
export interface KernelEvidence {
  procfs?: { delta: KernelDelta; artifacts: string[] };
  /** Parsed bpftrace output by script name (runqlat, offcpu, …). */
  bpf: Record<string, { output: BpfOutput; artifact: string; seconds: number }>;
}

export interface Evidence {
  dir: string;
  manifest: Manifest;
  spike: WindowEvidence;
  baseline?: WindowEvidence;
  metrics: Partial<Record<MetricKey, MetricEvidence>>;
  kernel: KernelEvidence;
  /** Things that could not be used, in plain words (named artifacts or collectors). */
  gaps: string[];
}
