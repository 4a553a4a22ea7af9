/**
 * Pyroscope's QuerierService (proto/querier/v1/querier.proto) over Connect or gRPC. Type IDs and
 * label selectors are separate fields; times are Unix milliseconds. SelectMergeProfile answers a
 * google.v1.Profile, which is wire-compatible with pprof's profile.proto, so its bytes are kept as they are.
 */
import { withMatcher, type StoreClient } from './client.js';
import { PYROSCOPE_QUERIER, serviceMethod } from './protos.js';
import { openRpc } from './rpc.js';
import type { ProfileStore } from './store.js';

interface ProfileTypesResponse {
  profile_types: Array<{ ID: string; name: string; sample_type: string; sample_unit: string; period_type: string; period_unit: string }>;
}

interface SeriesResponse {
  labels_set: unknown[];
}

interface SelectSeriesResponse {
  series: Array<{ points: Array<{ value: number }> }>;
}

export async function pyroscopeClient(store: ProfileStore): Promise<StoreClient> {
  const rpc = await openRpc(store);
  const method = (name: string) => serviceMethod(PYROSCOPE_QUERIER, name);
  const seriesTotal = async (aggregation: string, type: string, selector: string, startMs: number, endMs: number, signal?: AbortSignal) => {
    const req = { profile_typeID: type, label_selector: selector, start: startMs, end: endMs, step: Math.max(1, (endMs - startMs) / 1000), group_by: [], aggregation };
    const res = await rpc.call<SelectSeriesResponse>(await method('SelectSeries'), req, signal);
    return res.series.reduce((t, s) => t + s.points.reduce((u, p) => u + p.value, 0), 0);
  };
  return {
    async profileTypes(r, signal) {
      const res = await rpc.call<ProfileTypesResponse>(await method('ProfileTypes'), { start: r.startMs, end: r.endMs }, signal);
      // Pyroscope stores Go's cumulative profiles (allocs, block, mutex) as deltas at ingestion.
      return res.profile_types.map((t) => ({ id: t.ID, name: t.name, sampleType: t.sample_type, sampleUnit: t.sample_unit, periodType: t.period_type, periodUnit: t.period_unit, delta: true }));
    },
    async merged(type, selector, r, signal) {
      const req = { profile_typeID: type.id, label_selector: selector, start: r.startMs, end: r.endMs };
      return rpc.call(await method('SelectMergeProfile'), req, signal, (b) => b);
    },
    async snapshotsPerSeries(type, selector, r, signal) {
      const series = await rpc.call<SeriesResponse>(await method('Series'), { matchers: [withMatcher(selector, `__profile_type__="${type.id}"`)], label_names: [], start: r.startMs, end: r.endMs }, signal);
      if (series.labels_set.length === 0) return 0;
      // One step over the range: the sum over the average of profile totals is the number of profiles.
      const [sum, avg] = await Promise.all([
        seriesTotal('TIME_SERIES_AGGREGATION_TYPE_SUM', type.id, selector, r.startMs, r.endMs, signal),
        seriesTotal('TIME_SERIES_AGGREGATION_TYPE_AVERAGE', type.id, selector, r.startMs, r.endMs, signal),
      ]);
      return avg > 0 ? sum / avg / series.labels_set.length : 0;
    },
    close: () => rpc.close(),
  };
}
