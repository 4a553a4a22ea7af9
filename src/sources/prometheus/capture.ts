/**
 * Prometheus HTTP API capture: range queries for every metric key, stored raw as the server answered.
 * Missing series are normal (most services expose only client_golang's defaults).
 */
import type { BundleWriter } from '../../evidence/bundle.js';
import type { CollectorEntry } from '../../evidence/manifest.js';
import { SleuthError, describe } from '../../errors.js';
import { redactUrl } from '../../util/redact.js';
import { parsePromResponse } from './parse.js';
import type { MetricKey } from './queries.js';

export interface PromTarget {
  url: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function queryRange(t: PromTarget, query: string, start: number, end: number, step: number, signal?: AbortSignal): Promise<string> {
  const u = new URL(`${t.url.replace(/\/+$/, '')}/api/v1/query_range`);
  const body = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
  const timeout = AbortSignal.timeout(t.timeoutMs ?? 15000);
  let res: Response;
  try {
    res = await fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...t.headers },
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw new SleuthError('interrupted', 'interrupted');
    throw new SleuthError('unavailable', `${redactUrl(u.toString())}: ${timeout.aborted ? 'no answer in time' : describe((err as Error).cause ?? err)}`, 'check --prometheus');
  }
  const text = await res.text();
  if (!res.ok && res.status !== 400 && res.status !== 422) {
    throw new SleuthError('unavailable', `${redactUrl(u.toString())}: HTTP ${res.status} ${text.slice(0, 200)}`, 'check --prometheus and its credentials');
  }
  parsePromResponse(text, redactUrl(u.toString())); // validates; a PromQL error surfaces here
  return text;
}

/** Query every key over [start, end] and record one `prometheus` collector. */
export async function capturePrometheus(
  t: PromTarget,
  queries: Partial<Record<MetricKey, string>>,
  range: { start: number; end: number; step: number },
  writer: BundleWriter,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const entry: CollectorEntry = { name: 'prometheus', status: 'ok', artifacts: [], startedAt: new Date(started).toISOString() };
  const failures: string[] = [];
  const empty: string[] = [];
  await Promise.all(
    Object.entries(queries).map(async ([key, q]) => {
      try {
        const text = await queryRange(t, q!, range.start, range.end, range.step, signal);
        if (parsePromResponse(text, key).every((s) => s.points.length === 0)) empty.push(key);
        entry.artifacts.push(await writer.writeArtifact(`prometheus/${key}.json`, text));
      } catch (err) {
        failures.push(`${key}: ${describe(err)}`);
      }
    }),
  );
  entry.artifacts.sort();
  entry.meta = { url: redactUrl(t.url), queries, step: range.step, empty: empty.sort() };
  if (failures.length) {
    entry.status = entry.artifacts.length ? 'ok' : 'failed';
    entry.message = failures.slice(0, 3).join('; ') + (failures.length > 3 ? ` (+${failures.length - 3} more)` : '');
  }
  entry.durationMs = Date.now() - started;
  writer.record(entry);
}
