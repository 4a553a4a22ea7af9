/**
 * Prometheus HTTP API capture: range queries for every metric key, stored raw as the server answered.
 * Missing series are normal (most services expose only client_golang's defaults).
 */
import type { BundleWriter } from '../../evidence/bundle.js';
import type { CollectorEntry } from '../../evidence/manifest.js';
import { SleuthError, describe } from '../../errors.js';
import { httpRequest } from '../../util/http.js';
import { redactUrl } from '../../util/redact.js';
import { parsePromResponse } from './parse.js';
import type { MetricKey } from './queries.js';
import type { CollectorHooks } from '../pprof/capture.js';

export interface PromTarget {
  url: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  ca?: string | Buffer;
  insecure?: boolean;
}

/** GET/POST one Prometheus HTTP API call; returns the body text of a successful (or PromQL-error) answer. */
export async function promApi(t: PromTarget, api: string, params: Record<string, string>, signal?: AbortSignal): Promise<string> {
  const u = `${t.url.replace(/\/+$/, '')}/api/v1/${api}`;
  const res = await httpRequest(u, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...t.headers },
    body: new URLSearchParams(params).toString(),
    timeoutMs: t.timeoutMs ?? 15000,
    signal,
    ca: t.ca,
    insecure: t.insecure,
  }).catch((err: unknown) => {
    if (err instanceof SleuthError && err.kind === 'unavailable') err.hint ??= 'check --prometheus (URL, credentials, TLS options)';
    throw err;
  });
  const text = res.body.toString('utf8');
  // 400 and 422 carry a JSON error body (bad PromQL, bad parameters) that the parser reports.
  if (res.status !== 200 && res.status !== 400 && res.status !== 422) {
    const why = res.status === 401 || res.status === 403 ? 'not authorised' : `HTTP ${res.status}`;
    throw new SleuthError('unavailable', `${redactUrl(u)}: ${why} ${text.slice(0, 200)}`.trim(), 'check --prometheus and its credentials (--prometheus-token, --prometheus-user)');
  }
  return text;
}

export async function queryRange(t: PromTarget, query: string, start: number, end: number, step: number, signal?: AbortSignal): Promise<string> {
  const text = await promApi(t, 'query_range', { query, start: String(start), end: String(end), step: String(step) }, signal);
  parsePromResponse(text, redactUrl(`${t.url}/api/v1/query_range`)); // validates; a PromQL error surfaces here
  return text;
}

/** Query every key over [start, end] and record one `prometheus` collector. */
export async function capturePrometheus(
  t: PromTarget,
  queries: Partial<Record<MetricKey, string>>,
  range: { start: number; end: number; step: number },
  writer: BundleWriter,
  signal?: AbortSignal,
  extra: { meta?: Record<string, unknown>; hooks?: CollectorHooks } = {},
): Promise<void> {
  const started = Date.now();
  const entry: CollectorEntry = { name: 'prometheus', status: 'ok', artifacts: [], startedAt: new Date(started).toISOString() };
  extra.hooks?.start?.('prometheus');
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
  entry.meta = { url: redactUrl(t.url), queries, step: range.step, empty: empty.sort(), ...extra.meta };
  if (failures.length) {
    entry.status = entry.artifacts.length ? 'ok' : 'failed';
    entry.message = failures.slice(0, 3).join('; ') + (failures.length > 3 ? ` (+${failures.length - 3} more)` : '');
  }
  entry.durationMs = Date.now() - started;
  writer.record(entry);
  extra.hooks?.done?.(entry);
}
