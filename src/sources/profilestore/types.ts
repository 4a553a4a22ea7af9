/**
 * Profile-type discovery: which of the types a store holds stands for each of our profile kinds.
 * Types are matched by what they measure (sample and period type), not by full IDs, so a store
 * fed by another agent or a renamed scrape job still maps. Pure.
 */
import type { ProfileKind } from '../../evidence/model.js';
import type { StoreKind } from './url.js';

/** A profile type as a store lists it (Parca `ProfileTypes`, Pyroscope `ProfileTypes`). */
export interface StoreProfileType {
  /** `name:sample_type:sample_unit:period_type:period_unit[:delta]`, the ID queries name. */
  id: string;
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
  /** Parca says whether it keeps deltas; Pyroscope always stores Go's cumulative types as deltas. */
  delta: boolean;
}

/**
 * How values add up over a window: `delta` profiles sum to the window's total; `gauge` snapshots
 * must be averaged; `cumulative` ones count since process start and cannot be merged into a window.
 */
export type Temporality = 'delta' | 'gauge' | 'cumulative';

export interface TypeChoice {
  type: StoreProfileType;
  temporality: Temporality;
  /** Only CPU sample counts exist: values become nanoseconds by the period. */
  cpuFromSamples: boolean;
}

interface Rule {
  /** Candidates in order of preference. */
  match: Array<(t: StoreProfileType) => boolean>;
  gauge?: boolean;
}

const RULES: Record<ProfileKind, Rule> = {
  cpu: {
    match: [
      (t) => t.name === 'process_cpu' && t.sampleType === 'cpu' && t.sampleUnit === 'nanoseconds',
      (t) => t.sampleType === 'cpu' && t.sampleUnit === 'nanoseconds' && t.periodType === 'cpu',
      (t) => t.sampleType === 'samples' && t.periodType === 'cpu' && t.periodUnit === 'nanoseconds',
    ],
  },
  goroutine: { match: [(t) => t.sampleType === 'goroutine' || t.sampleType === 'goroutines'], gauge: true },
  mutex: { match: [(t) => t.name === 'mutex' && t.sampleType === 'delay'] },
  block: { match: [(t) => t.name === 'block' && t.sampleType === 'delay'] },
  heap: { match: [(t) => t.sampleType === 'inuse_space'], gauge: true },
  allocs: { match: [(t) => t.sampleType === 'alloc_space'] },
};

/** The store type for a kind, or undefined when the store holds none. Delta types win over cumulative ones. */
export function chooseType(kind: ProfileKind, types: readonly StoreProfileType[], store: StoreKind): TypeChoice | undefined {
  const rule = RULES[kind];
  for (const m of rule.match) {
    const found = types.filter(m);
    if (found.length === 0) continue;
    const temporality = (t: StoreProfileType): Temporality =>
      // A CPU profile is a delta by nature (it covers its own duration), whatever the store says.
      rule.gauge ? 'gauge' : kind === 'cpu' || store === 'pyroscope' || t.delta ? 'delta' : 'cumulative';
    const type = found.find((t) => temporality(t) === 'delta') ?? found[0];
    return { type, temporality: temporality(type), cpuFromSamples: kind === 'cpu' && type.sampleType === 'samples' };
  }
  return undefined;
}

/** Parse a type ID (`memory:alloc_space:bytes:space:bytes[:delta]`); undefined when malformed. */
export function parseTypeId(id: string): StoreProfileType | undefined {
  const p = id.split(':');
  if (p.length < 5 || p.length > 6 || p.slice(0, 5).some((x) => x === '')) return undefined;
  return { id, name: p[0], sampleType: p[1], sampleUnit: p[2], periodType: p[3], periodUnit: p[4], delta: p[5] === 'delta' };
}

/** A short list of type IDs for messages. */
export function listTypes(types: readonly StoreProfileType[]): string {
  return types.length ? types.map((t) => t.id).sort().join(', ') : 'none';
}
