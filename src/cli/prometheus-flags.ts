/** The Prometheus connection flags shared by commands (URL, credentials, TLS, timeout) → a PromTarget. */
import { readFileSync } from 'node:fs';
import { SleuthError, usageError } from '../errors.js';
import type { PromTarget } from '../sources/prometheus/capture.js';
import { parseDuration } from '../util/duration.js';

/** The Prometheus connection flags as Commander parses them. */
export interface PrometheusFlags {
  prometheus?: string;
  prometheusToken?: string;
  prometheusUser?: string;
  prometheusPassword?: string;
  prometheusHeader?: string[];
  prometheusCa?: string;
  prometheusTimeout: string;
  insecureSkipTlsVerify?: boolean;
}

/** The target the flags describe, or undefined without --prometheus; bad flags are usage errors. */
export function promTarget(f: PrometheusFlags): PromTarget | undefined {
  if (f.prometheus === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(f.prometheus)) throw usageError(`--prometheus ${JSON.stringify(f.prometheus)} is not an http(s) URL`);
  const timeoutMs = parseDuration(f.prometheusTimeout, '--prometheus-timeout', { min: 0.1, max: 600 }) * 1000;
  return {
    url: f.prometheus,
    headers: promHeaders(f),
    timeoutMs,
    ca: f.prometheusCa ? readFileOr(f.prometheusCa, '--prometheus-ca') : undefined,
    insecure: f.insecureSkipTlsVerify,
  };
}

/** Credentials from flags or the environment; they go into request headers only, never into bundles. */
export function promHeaders(f: PrometheusFlags): Record<string, string> {
  const h: Record<string, string> = {};
  for (const raw of f.prometheusHeader ?? []) {
    const i = raw.indexOf(':');
    if (i <= 0) throw usageError(`--prometheus-header ${JSON.stringify(raw)} must be "Name: value"`);
    h[raw.slice(0, i).trim()] = raw.slice(i + 1).trim();
  }
  const token = f.prometheusToken ?? process.env.P99SLEUTH_PROMETHEUS_TOKEN;
  const user = f.prometheusUser ?? process.env.P99SLEUTH_PROMETHEUS_USER;
  const password = f.prometheusPassword ?? process.env.P99SLEUTH_PROMETHEUS_PASSWORD;
  if (token && user) throw usageError('give either a bearer token or a user and password for Prometheus, not both');
  if (token) h.authorization = `Bearer ${token}`;
  else if (user) h.authorization = 'Basic ' + Buffer.from(`${user}:${password ?? ''}`).toString('base64');
  return h;
}

/** A file named by a flag; unreadable is a usage error naming the flag. */
export function readFileOr(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SleuthError('usage', `${flag} ${file}: cannot read (${(err as Error).message})`);
  }
}
