/** Flag values several commands share, validated the same way before anything runs. */
import { PROFILE_KINDS, type ProfileKind } from '../evidence/model.js';
import { usageError } from '../errors.js';

/** A URL path (`/debug/pprof`, `/metrics`), trailing slashes removed: nothing that could change the host. */
export function urlPath(value: string, flag: string): string {
  if (!/^\/[A-Za-z0-9_.~\-/]*$/.test(value)) throw usageError(`${flag} ${JSON.stringify(value)} is not a URL path`, `e.g. ${flag === '--metrics-path' ? '/metrics' : '/debug/pprof'}`);
  return value.replace(/\/+$/, '');
}

/** A Prometheus metric name (a latency histogram's, without `_bucket`). */
export function metricName(value: string | undefined, flag = '--latency-metric'): string | undefined {
  if (value !== undefined && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) throw usageError(`${flag} ${JSON.stringify(value)} is not a metric name`);
  return value;
}

/** `--profiles cpu,goroutine,…`. */
export function profileKinds(value: string): ProfileKind[] {
  const kinds = value.split(',').map((k) => k.trim()) as ProfileKind[];
  for (const k of kinds) if (!PROFILE_KINDS.includes(k)) throw usageError(`--profiles: unknown profile "${k}"`, `choose from ${PROFILE_KINDS.join(',')}`);
  return kinds;
}
