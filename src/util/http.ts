/**
 * One small HTTP client for every source (pprof, Prometheus): node:http/https so that TLS options
 * (a CA file, skipping verification) work, which the global fetch of Node 20 cannot take per request.
 */
import http from 'node:http';
import https from 'node:https';
import { SleuthError, describe } from '../errors.js';
import { redactUrl } from './redact.js';

export interface HttpOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** PEM CA bundle for https. */
  ca?: string | Buffer;
  /** Skip TLS verification (self-signed test setups only). */
  insecure?: boolean;
  /** Cap on the response size. */
  maxBytes?: number;
}

export interface HttpResponse {
  status: number;
  body: Buffer;
  contentType?: string;
}

export function httpRequest(rawUrl: string, o: HttpOptions): Promise<HttpResponse> {
  const url = new URL(rawUrl);
  const shown = redactUrl(rawUrl);
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!lib) return Promise.reject(new SleuthError('usage', `${shown}: only http:// and https:// URLs are supported`));
  const headers: Record<string, string> = { 'user-agent': 'p99sleuth', ...o.headers };
  if (url.username || url.password) {
    headers.authorization = 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    url.username = '';
    url.password = '';
  }
  const max = o.maxBytes ?? 512 << 20;
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new SleuthError('interrupted', `${shown}: interrupted`));
    const req = lib.request(url, { method: o.method ?? 'GET', headers, ca: o.ca, rejectUnauthorized: !o.insecure }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) req.destroy(new Error(`response larger than ${max} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        cleanup();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: res.headers['content-type'] });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError()), o.timeoutMs);
    const onAbort = () => req.destroy(new AbortError());
    o.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error) {
      cleanup();
      if (err instanceof AbortError) reject(new SleuthError('interrupted', `${shown}: interrupted`));
      else if (err instanceof TimeoutError) reject(new SleuthError('unavailable', `${shown}: no complete answer within ${Math.round(o.timeoutMs / 1000)} s`));
      else reject(new SleuthError('unavailable', `${shown}: ${describe(err)}`));
    }
    req.on('error', fail);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

class TimeoutError extends Error {}
class AbortError extends Error {}
