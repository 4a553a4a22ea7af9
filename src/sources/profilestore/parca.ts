/**
 * Parca's QueryService over gRPC (proto/parca/query/v1alpha1/query.proto). A query is the type ID
 * followed by label matchers: `process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta{job="checkout"}`.
 */
import type { StoreClient } from './client.js';
import { PARCA_QUERY, serviceMethod } from './protos.js';
import { RpcError, openRpc, type Rpc } from './rpc.js';
import type { ProfileStore } from './store.js';

interface Timestamp {
  seconds: number;
  nanos: number;
}

interface ProfileTypesResponse {
  types: Array<{ name: string; sample_type: string; sample_unit: string; period_type: string; period_unit: string; delta: boolean }>;
}

interface QueryResponse {
  report?: string;
  pprof?: Buffer;
}

interface QueryRangeResponse {
  series: Array<{ samples: Array<{ count: number }> }>;
}

const ts = (ms: number): Timestamp => ({ seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) });

export async function parcaClient(store: ProfileStore): Promise<StoreClient> {
  const rpc: Rpc = await openRpc(store);
  const method = (name: string) => serviceMethod(PARCA_QUERY, name);
  return {
    async profileTypes(r, signal) {
      const res = await rpc.call<ProfileTypesResponse>(await method('ProfileTypes'), { start: ts(r.startMs), end: ts(r.endMs) }, signal);
      return res.types.map((t) => ({
        id: `${t.name}:${t.sample_type}:${t.sample_unit}:${t.period_type}:${t.period_unit}${t.delta ? ':delta' : ''}`,
        name: t.name,
        sampleType: t.sample_type,
        sampleUnit: t.sample_unit,
        periodType: t.period_type,
        periodUnit: t.period_unit,
        delta: t.delta,
      }));
    },
    async merged(type, selector, r, signal) {
      const req = { mode: 'MODE_MERGE', merge: { query: `${type.id}${selector}`, start: ts(r.startMs), end: ts(r.endMs) }, report_type: 'REPORT_TYPE_PPROF' };
      const res = await notFoundAs(rpc.call<QueryResponse>(await method('Query'), req, signal), { report: 'pprof', pprof: Buffer.alloc(0) });
      if (res.report !== 'pprof' || !res.pprof) {
        throw new RpcError('data_loss', 'input', `${store.shown}: QueryService/Query: asked for a pprof report, got ${res.report ?? 'none'}`, 'upgrade Parca (pprof reports need v0.19 or later)');
      }
      return res.pprof;
    },
    async snapshotsPerSeries(type, selector, r, signal) {
      // One step over the whole range: each series' sample then counts the profiles in it.
      const step = Math.max(1, Math.ceil((r.endMs - r.startMs) / 1000));
      const req = { query: `${type.id}${selector}`, start: ts(r.startMs), end: ts(r.endMs), step: { seconds: step, nanos: 0 }, limit: 0, sum_by: [] };
      const res = await notFoundAs(rpc.call<QueryRangeResponse>(await method('QueryRange'), req, signal), { series: [] });
      if (res.series.length === 0) return 0;
      // `count` is recent (Parca ≥ 0.22); older servers send one sample per profile instead.
      const total = res.series.reduce((t, s) => t + s.samples.reduce((u, x) => u + (x.count || 1), 0), 0);
      return total / res.series.length;
    },
    close: () => rpc.close(),
  };
}

/** Parca answers NOT_FOUND when nothing matched: that is an empty result, not a failure. */
async function notFoundAs<T>(p: Promise<T>, empty: T): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RpcError && err.code === 'not_found') return empty;
    throw err;
  }
}
